// `llmc distill` with hidden_states end to end on the tiny BERT fixtures (teacher 64 wide, 2
// layers; student 32 wide, 1 layer): the loss parts in the report, the learned projection, the
// artifact with the student's own interface; two workers end with one process's weights; a
// module name that does not exist is exit 2 with the names that do.
#include <filesystem>
#include <map>

#include "torch_doctest.h"

#include "cli.h"
#include "test_support.h"

using llmc::test::fixture;
using llmc::test::has;
using llmc::test::read_json;
using llmc::test::run_llmc;
namespace fs = std::filesystem;

namespace {

std::string recipe(const std::string& student, int64_t batch, const std::string& more) {
  return "recipe_version: 1\nmodel: " + fixture(student) +
         "\noutput: out\nthreads: 1\n"
         "data: {path: " + fixture("distill_test.jsonl") + ", labels: labels, batch_size: 16}\n"
         "task: {type: multi-label}\n"
         "bench: {warmup: 1, runs: 2, memory: false}\n"
         "distill:\n"
         "  teacher: " + fixture("distill_teacher.pt") + "\n"
         "  alpha: 0.5\n  temperature: 2\n  learning_rate: 0.005\n  epochs: 2\n"
         "  train_data: {path: " + fixture("distill_train.jsonl") + ", labels: labels, "
         "batch_size: " + std::to_string(batch) + ", max_samples: 200}\n" + more;
}

const char* const kPairs =
    "  hidden_states:\n"
    "    - {teacher: bert.encoder.layer.1, student: bert.encoder.layer.0, loss: mse, weight: 2}\n"
    "    - {teacher: bert.embeddings, student: bert.embeddings, loss: cosine, weight: 0.5}\n";

}  // namespace

TEST_CASE("distill with hidden states reports each loss part and writes the plain student") {
  llmc::test::TempDir dir;
  const auto r = dir.write("r.yaml", recipe("distill_student.pt", 16,
                                            std::string(kPairs) + "  keep_checkpoints: true\n"));
  const auto run = run_llmc({"distill", r, "--out", "hs"}, dir.path().string());
  INFO(run.err);
  REQUIRE(run.code == 0);
  CHECK(has(run.err, "teacher-logit cache off: hidden_states"));
  const auto rep = read_json((dir.path() / "hs/report.json").string());
  const auto& d = rep.at("details");
  CHECK(has(d.at("loss").as_string(), "+ sum of weight * hidden-state loss"));
  CHECK(has(d.at("teacher_cache").as_string(), "off: hidden_states need"));
  const auto& pairs = d.at("hidden_states").as_array();
  REQUIRE(pairs.size() == 2);
  CHECK(pairs[0].at("student_width").as_int() == 32);
  CHECK(pairs[0].at("teacher_width").as_int() == 64);
  CHECK(has(pairs[0].at("projection").as_string(), "Linear 32 -> 64 (2112 parameters"));
  CHECK(pairs[1].at("loss").as_string() == "cosine");
  // Every evaluation row: the weighted sum and each pair's loss; train_loss includes them.
  const auto& history = d.at("history").as_array();
  REQUIRE(history.size() == 2);
  for (const auto& row : history) {
    const double h0 = row.at("hidden_loss_0").as_double();
    const double h1 = row.at("hidden_loss_1").as_double();
    CHECK(h0 > 0);
    CHECK(h1 > 0);
    CHECK(row.at("hidden_loss").as_double() == doctest::Approx(2 * h0 + 0.5 * h1).epsilon(1e-2));
    CHECK(row.at("train_loss").as_double() > row.at("hidden_loss").as_double());
  }
  CHECK(history[1].at("hidden_loss").as_double() < history[0].at("hidden_loss").as_double());
  CHECK(has(llmc::test::read_text((dir.path() / "hs/report.md").string()), "hidden_loss_0"));
  CHECK(has(llmc::test::read_text((dir.path() / "hs/learning_curves.svg").string()),
            "hidden-state loss"));
  // The projections are checkpointed (for --resume), not part of the artifact.
  CHECK(fs::exists(dir.path() / "hs.checkpoints/last/extra.pt"));
  auto model = torch::jit::load((dir.path() / "hs/model.pt").string());
  const auto ids = torch::tensor({{101, 7, 42, 102}}, at::kLong);
  const auto out = model.forward({ids, torch::ones({1, 4}, at::kLong)});
  REQUIRE(out.isTensor());
  CHECK(out.toTensor().sizes() == at::IntArrayRef{1, 4});
  auto original = torch::jit::load(fixture("distill_student.pt"));
  CHECK(model.parameters().size() == original.parameters().size());
}

TEST_CASE("hidden states with two workers end with the weights of one process") {
  llmc::test::TempDir dir;
  const std::string more = std::string(kPairs) + "  keep_checkpoints: true\n";
  const auto one_r = dir.write("one.yaml", recipe("distill_student_nodrop.pt", 16, more));
  const auto two_r = dir.write("two.yaml", recipe("distill_student_nodrop.pt", 8, more));
  const auto one = run_llmc({"distill", one_r, "--out", "one"}, dir.path().string());
  INFO(one.err);
  REQUIRE(one.code == 0);
  const auto two = run_llmc({"distill", two_r, "--nproc", "2", "--out", "two"},
                            dir.path().string());
  INFO(two.err);
  REQUIRE(two.code == 0);
  auto a = torch::jit::load((dir.path() / "one.checkpoints/last/student.pt").string());
  auto b = torch::jit::load((dir.path() / "two.checkpoints/last/student.pt").string());
  std::map<std::string, at::Tensor> bs;
  for (const auto& p : b.named_parameters(true)) bs[p.name] = p.value;
  double diff = 0;
  for (const auto& p : a.named_parameters(true)) {
    diff = std::max(diff, (p.value - bs.at(p.name)).abs().max().item<double>());
  }
  CHECK(diff < 2e-3);  // summation order only (see test_distill_parallel.cpp)
  const auto h1 = read_json((dir.path() / "one/report.json").string()).at("details").at("history");
  const auto h2 = read_json((dir.path() / "two/report.json").string()).at("details").at("history");
  CHECK(h2.at(1).at("hidden_loss").as_double() ==
        doctest::Approx(h1.at(1).at("hidden_loss").as_double()).epsilon(1e-2));
}

TEST_CASE("hidden states naming a module that does not exist: exit 2 with the names that do") {
  llmc::test::TempDir dir;
  const auto r = dir.write(
      "r.yaml", recipe("distill_student.pt", 16,
                       "  hidden_states:\n"
                       "    - {teacher: bert.encoder.layer.1, student: bert.encoder.layers.0}\n"));
  const auto run = run_llmc({"distill", r, "--out", "bad"}, dir.path().string());
  CHECK(run.code == 2);
  INFO(run.err);
  CHECK(has(run.err, "r.yaml:16:7: distill.hidden_states[0].student: the student ("));
  CHECK(has(run.err, "has no module \"bert.encoder.layers.0\"; its modules, nearest first: "
                     "bert.encoder.layer.0, "));
  CHECK_FALSE(fs::exists(dir.path() / "bad"));
  // Without a teacher there is nothing to match: refused before any model is loaded.
  const auto no_teacher = dir.write(
      "n.yaml", "recipe_version: 1\nmodel: " + fixture("distill_student.pt") +
                    "\noutput: out\ndata: {path: " + fixture("distill_test.jsonl") +
                    ", labels: labels}\ntask: {type: multi-label}\ndistill:\n  alpha: 1\n"
                    "  train_data: {path: " + fixture("distill_train.jsonl") +
                    ", labels: labels}\n  hidden_states: [{teacher: a, student: b}]\n");
  const auto v = run_llmc({"validate", no_teacher}, dir.path().string());
  CHECK(v.code == 2);
  CHECK(has(v.err, "distill.hidden_states: hidden_states match the teacher's intermediate "
                   "outputs: set `teacher`"));
}
