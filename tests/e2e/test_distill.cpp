// `llmc distill` end to end on the tiny fixtures: fine-tuning without a teacher, distillation
// with the teacher-logit cache, SentencePiece text data, a causal LM, bf16 autocast, --resume
// after a kill, and bad inputs.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <sstream>
#include <thread>

#include "torch_doctest.h"

#include "cli.h"
#include "test_support.h"

extern char** environ;

using llmc::test::fixture;
using llmc::test::read_json;
using llmc::test::run_llmc;
namespace fs = std::filesystem;

namespace {

std::string recipe(const std::string& model, const std::string& distill,
                   const std::string& data = "distill_test.jsonl",
                   const std::string& task = "multi-label") {
  return "recipe_version: 1\nmodel: " + fixture(model) +
         "\noutput: out\nthreads: 1\n"
         "data: {path: " + fixture(data) + ", labels: labels, batch_size: 16}\n"
         "task: {type: " + task + "}\n"
         "bench: {warmup: 1, runs: 3}\n"
         "distill:\n"
         "  train_data: {path: " + fixture("distill_train.jsonl") + ", labels: labels, "
         "batch_size: 32}\n" + distill;
}

double metric(const llmc::util::Json& side, const std::string& name) {
  return side.at("metrics").at(name).as_double();
}

}  // namespace

TEST_CASE("fine-tuning without a teacher, then distilling a student from the trained teacher") {
  llmc::test::TempDir dir;
  // 1. The teacher learns the synthetic topics (task loss only).
  const auto t_recipe = dir.write(
      "t.yaml", recipe("distill_teacher.pt", "  alpha: 1\n  epochs: 6\n  learning_rate: 0.002\n"));
  const auto t = run_llmc({"distill", t_recipe, "--out", "teacher"}, dir.path().string());
  INFO(t.err);
  REQUIRE(t.code == 0);
  const auto tr = read_json((dir.path() / "teacher/report.json").string());
  CHECK(tr.at("command").as_string() == "distill");
  // Without a teacher the report compares against the untrained model as handed over.
  CHECK(metric(tr.at("result"), "jaccard_samples") > metric(tr.at("original"), "jaccard_samples") + 0.3);
  CHECK(metric(tr.at("result"), "jaccard_samples") > 0.75);
  const auto& history = tr.at("details").at("history").as_array();
  CHECK(history.size() == 6);
  CHECK(history.front().at("train_loss").as_double() > history.back().at("train_loss").as_double());
  CHECK(fs::exists(dir.path() / "teacher/learning_curves.svg"));
  CHECK(llmc::test::read_text((dir.path() / "teacher/learning_curves.svg").string()).find("<polyline") != std::string::npos);
  CHECK(llmc::test::read_text((dir.path() / "teacher/report.md").string()).find("| epoch | step | train_loss") != std::string::npos);
  // Checkpoints are removed after a successful run unless keep_checkpoints.
  CHECK_FALSE(fs::exists(dir.path() / "teacher.checkpoints"));
  // The artifact is the best student by the metric, plain TorchScript in eval mode.
  auto trained = torch::jit::load((dir.path() / "teacher/model.pt").string());
  CHECK_FALSE(trained.is_training());

  // 2. The student learns from it (alpha 0.5, T 4, sigmoid KL); the teacher runs once per
  //    training batch in epoch 1, later epochs read the cache.
  const auto s_recipe = dir.write(
      "s.yaml", recipe("distill_student.pt",
                       "  teacher: " + (dir.path() / "teacher/model.pt").string() +
                           "\n  alpha: 0.5\n  temperature: 4\n  epochs: 4\n"
                           "  learning_rate: 0.003\n  keep_checkpoints: true\n"));
  const auto s = run_llmc({"distill", s_recipe, "--out", "student"}, dir.path().string());
  INFO(s.err);
  REQUIRE(s.code == 0);
  const auto sr = read_json((dir.path() / "student/report.json").string());
  // The report's original side is the teacher: teacher vs student side by side.
  CHECK(sr.at("original").at("path").as_string() == (dir.path() / "teacher/model.pt").string());
  CHECK(sr.at("original").at("parameter_count").as_int() > 2 * sr.at("result").at("parameter_count").as_int());
  CHECK(sr.at("comparison").at("speedup").as_double() > 1.0);
  CHECK(metric(sr.at("original"), "jaccard_samples") == doctest::Approx(metric(tr.at("result"), "jaccard_samples")).epsilon(1e-6));
  const auto cache = sr.at("details").at("teacher_cache").as_string();
  INFO(cache);
  // 512 samples / 32 = 16 batches: run once, then served from the cache in epochs 2..4.
  CHECK(cache.find("16 teacher batches run, 48 served from the cache") == 0);
  CHECK(sr.at("details").at("history").at(0).at("soft_loss").as_double() > 0);
  CHECK(metric(sr.at("result"), "jaccard_samples") > 0.3);
  CHECK(fs::exists(dir.path() / "student.checkpoints/best.pt"));
  CHECK(fs::exists(dir.path() / "student.checkpoints/last/optimizer.pt"));

  // 3. A second run finds the kept checkpoints and refuses to mix runs.
  const auto again = run_llmc({"distill", s_recipe, "--out", "student2", "--set",
                               "distill.checkpoint_dir=student.checkpoints"},
                              dir.path().string());
  CHECK(again.code == 2);
  CHECK(again.err.find("checkpoints of an earlier run") != std::string::npos);
  CHECK(again.err.find("--resume") != std::string::npos);
}

TEST_CASE("--resume continues a killed run and ends where an uninterrupted run ends") {
  llmc::test::TempDir dir;
  const std::string settings = "  alpha: 1\n  epochs: 12\n  learning_rate: 0.002\n";
  const auto r = dir.write("r.yaml", recipe("distill_student.pt", settings));
  // Uninterrupted reference run.
  const auto full = run_llmc({"distill", r, "--out", "full"}, dir.path().string());
  INFO(full.err);
  REQUIRE(full.code == 0);

  // Start the same run, kill it once the first checkpoint is in place.
  const std::string bin = std::getenv("LLMC_BIN");
  std::vector<std::string> args{bin, "-q", "distill", r, "--out", "killed"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addchdir_np(&actions, dir.path().c_str());
  REQUIRE(posix_spawn(&pid, bin.c_str(), &actions, nullptr, argv.data(), environ) == 0);
  posix_spawn_file_actions_destroy(&actions);
  const auto state = dir.path() / "killed.checkpoints/last/state.json";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!fs::exists(state) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  REQUIRE(WIFSIGNALED(status));
  REQUIRE(fs::exists(state));
  CHECK_FALSE(fs::exists(dir.path() / "killed/report.json"));

  // A changed setting cannot resume.
  const auto changed = run_llmc({"distill", r, "--out", "killed", "--resume", "--set",
                                 "distill.learning_rate=0.001"},
                                dir.path().string());
  CHECK(changed.code == 2);
  CHECK(changed.err.find("learning_rate changed") != std::string::npos);

  const auto resumed = run_llmc({"distill", r, "--out", "killed", "--resume"}, dir.path().string());
  INFO(resumed.err);
  REQUIRE(resumed.code == 0);
  CHECK(resumed.err.find("resuming after epoch") != std::string::npos);
  const auto rep = read_json((dir.path() / "killed/report.json").string());
  CHECK(rep.at("details").at("resumed_after_epoch").as_int() >= 1);
  CHECK(rep.at("details").at("history").as_array().size() == 12);
  // Same data order, same dropout masks (generator state restored), same optimizer state:
  // the resumed model is the uninterrupted one.
  auto a = torch::jit::load((dir.path() / "full/model.pt").string());
  auto b = torch::jit::load((dir.path() / "killed/model.pt").string());
  torch::NoGradGuard no_grad;
  const auto ids = torch::randint(1, 1000, {4, 12}, torch::kLong);
  const auto mask = torch::ones({4, 12}, torch::kLong);
  const auto diff = (a.forward({ids, mask}).toTensor() - b.forward({ids, mask}).toTensor()).abs().max().item<double>();
  CHECK(diff < 1e-5);

  // --resume without a checkpoint is a usage error.
  const auto none = run_llmc({"distill", r, "--out", "other", "--resume"}, dir.path().string());
  CHECK(none.code == 2);
  CHECK(none.err.find("no checkpoint") != std::string::npos);
}

TEST_CASE("raw text tokenized with a SentencePiece model") {
  llmc::test::TempDir dir;
  const std::string spm = fixture("distill_spm.model");
  const auto text = dir.write(
      "r.yaml",
      "recipe_version: 1\nmodel: " + fixture("distill_student.pt") +
          "\noutput: out\nthreads: 1\n"
          "data: {path: " + fixture("distill_text_test.jsonl") + ", text: text, tokenizer: " + spm +
          ", max_length: 16, labels: labels}\n"
          "task: {type: multi-label}\nbench: {warmup: 1, runs: 2}\n"
          "distill:\n  train_data: {path: " + fixture("distill_text_train.jsonl") +
          ", text: text, tokenizer: " + spm + ", max_length: 16, labels: labels}\n"
          "  alpha: 1\n  epochs: 5\n  learning_rate: 0.003\n  group_by_length: true\n");
  const auto r = run_llmc({"distill", text}, dir.path().string());
  INFO(r.err);
  REQUIRE(r.code == 0);
  const auto rep = read_json((dir.path() / "out/report.json").string());
  CHECK(metric(rep.at("result"), "jaccard_samples") > 0.5);

  // A file that is not a SentencePiece model.
  const auto bad = run_llmc({"distill", text, "--out", "o2", "--set",
                             "distill.train_data.tokenizer=" + fixture("distill_test.jsonl")},
                            dir.path().string());
  CHECK(bad.code == 3);
  CHECK(bad.err.find("not a SentencePiece model") != std::string::npos);
}

TEST_CASE("causal language model: token-level CE + KL over the vocabulary, perplexity") {
  llmc::test::TempDir dir;
  const auto lm = [&](const std::string& model, const std::string& distill) {
    return "recipe_version: 1\nmodel: " + fixture(model) +
           "\noutput: out\nthreads: 1\n"
           "data: {path: " + fixture("distill_test.jsonl") + ", batch_size: 16}\n"
           "task: {type: language-model}\nbench: {warmup: 1, runs: 2}\n"
           "distill:\n  train_data: {path: " + fixture("distill_train.jsonl") +
           ", batch_size: 32}\n" + distill;
  };
  const auto t = run_llmc({"distill", dir.write("t.yaml", lm("lm_teacher.pt",
                                                                "  alpha: 1\n  epochs: 3\n  learning_rate: 0.003\n")),
                           "--out", "teacher"},
                          dir.path().string());
  INFO(t.err);
  REQUIRE(t.code == 0);
  const auto tr = read_json((dir.path() / "teacher/report.json").string());
  CHECK(tr.at("result").at("primary_metric").as_string() == "perplexity");
  CHECK_FALSE(tr.at("result").at("higher_is_better").as_bool());
  // Untrained: about the vocabulary size (1000); trained on topic-structured ids: far lower.
  CHECK(metric(tr.at("original"), "perplexity") > 500);
  CHECK(metric(tr.at("result"), "perplexity") < 0.5 * metric(tr.at("original"), "perplexity"));

  const auto s = run_llmc(
      {"distill",
       dir.write("s.yaml", lm("lm_student.pt", "  teacher: " + (dir.path() / "teacher/model.pt").string() +
                                                   "\n  alpha: 0.5\n  temperature: 2\n  epochs: 2\n  learning_rate: 0.003\n")),
       "--out", "student"},
      dir.path().string());
  INFO(s.err);
  REQUIRE(s.code == 0);
  const auto sr = read_json((dir.path() / "student/report.json").string());
  CHECK(sr.at("details").at("loss").as_string().find("softmax-kl") != std::string::npos);
  CHECK(sr.at("details").at("teacher_cache").as_string().find("served from the cache") != std::string::npos);
  CHECK(metric(sr.at("result"), "perplexity") < 500);
}

TEST_CASE("bf16 autocast trains") {
  llmc::test::TempDir dir;
  const auto r = run_llmc({"distill", dir.write("r.yaml", recipe("distill_teacher.pt",
                                                                  "  alpha: 1\n  epochs: 4\n  learning_rate: 0.002\n  bf16: true\n"))},
                          dir.path().string());
  INFO(r.err);
  REQUIRE(r.code == 0);
  const auto rep = read_json((dir.path() / "out/report.json").string());
  CHECK(metric(rep.at("result"), "jaccard_samples") > 0.5);
}

TEST_CASE("distill: bad inputs are clear errors with documented exit codes and no artifact") {
  llmc::test::TempDir dir;
  auto expect = [&](const std::string& name, const std::string& text, int code,
                    const std::string& message, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args{"distill", dir.write(name + ".yaml", text), "--out", name};
    args.insert(args.end(), extra.begin(), extra.end());
    const auto r = run_llmc(args, dir.path().string());
    INFO(name, ": ", r.err);
    CHECK(r.code == code);
    CHECK(r.err.find(message) != std::string::npos);
    CHECK_FALSE(fs::exists(dir.path() / name));
  };
  // Teacher with 3 classes, student with 4.
  expect("mismatch", recipe("distill_student.pt", "  teacher: " + fixture("bert_tiny_eval.pt") + "\n  epochs: 1\n"),
         3, "differ in shape");
  // Multi-hot labels of the wrong width.
  const auto three = dir.write("three.jsonl",
                               "{\"input_ids\": [2, 5, 6], \"attention_mask\": [1, 1, 1], \"labels\": [1, 0, 1]}\n");
  expect("labels", recipe("distill_student.pt", "  epochs: 1\n  alpha: 1\n") , 3,
         three + ":1: the multi-hot labels have 3 values but " + fixture("distill_student.pt") +
             " has 4 classes",
         {"--set", "distill.train_data.path=" + three});
  // A malformed line names file and line.
  const auto broken = dir.write("broken.jsonl",
                                "{\"input_ids\": [2, 5], \"attention_mask\": [1, 1], \"labels\": [1, 0, 0, 0]}\n"
                                "{\"input_ids\": [2, 5], \"attention_mask\": [1, 1], \"labels\": [1, 0, 0, 0]\n");
  expect("malformed", recipe("distill_student.pt", "  epochs: 1\n  alpha: 1\n"), 3, "broken.jsonl:2:",
         {"--set", "distill.train_data.path=" + broken});
  const auto empty = dir.write("empty.jsonl", "\n");
  expect("empty", recipe("distill_student.pt", "  epochs: 1\n  alpha: 1\n"), 3, "has no samples",
         {"--set", "distill.train_data.path=" + empty});
  // Token ids beyond the embedding table (a tokenizer for another vocabulary).
  const auto big = dir.write("big.jsonl",
                             "{\"input_ids\": [2, 1500], \"attention_mask\": [1, 1], \"labels\": [1, 0, 0, 0]}\n");
  expect("vocab", recipe("distill_student.pt", "  epochs: 1\n  alpha: 1\n"), 3,
         "does not match the model's vocabulary", {"--set", "distill.train_data.path=" + big});
  // A non-finite loss stops training with a message: a teacher whose classifier bias is NaN.
  {
    torch::NoGradGuard no_grad;
    auto teacher = torch::jit::load(fixture("distill_teacher.pt"));
    teacher.attr("classifier").toModule().attr("bias").toTensor().fill_(NAN);
    teacher.save((dir.path() / "nan_teacher.pt").string());
  }
  expect("nan", recipe("distill_student.pt", "  teacher: " + (dir.path() / "nan_teacher.pt").string() + "\n  epochs: 1\n"),
         3, "the loss is NaN at epoch 1, step 0");
  // Recipe errors: no task, alpha 1 with a teacher, unknown best_metric.
  expect("notask", "recipe_version: 1\nmodel: " + fixture("distill_student.pt") +
                       "\ndata: {path: " + fixture("distill_test.jsonl") + "}\n"
                       "distill: {train_data: {path: " + fixture("distill_train.jsonl") + "}}\n",
         2, "set task.type");
  expect("alpha", recipe("distill_student.pt", "  teacher: " + fixture("distill_teacher.pt") + "\n  alpha: 1\n"),
         2, "alpha 1 ignores the teacher");
  expect("metric", recipe("distill_student.pt", "  best_metric: accuracy\n"), 2,
         "\"accuracy\" is not a metric of this task");
}

TEST_CASE("single-label classification: CE + softmax KL, accuracy; evaluation every N steps") {
  llmc::test::TempDir dir;
  // The synthetic data with one class per sample: its first topic.
  auto single = [&](const std::string& from, const std::string& to) {
    std::string out;
    std::istringstream in(llmc::test::read_text(fixture(from)));
    for (std::string line; std::getline(in, line);) {
      auto j = llmc::util::parse_json(line);
      int64_t cls = 0;
      const auto& hot = j.at("labels").as_array();
      while (hot[static_cast<size_t>(cls)].as_int() == 0) ++cls;
      j["label"] = cls;
      out += j.dump() + "\n";
    }
    return dir.write(to, out);
  };
  const auto train = single("distill_train.jsonl", "train.jsonl");
  const auto test = single("distill_test.jsonl", "test.jsonl");
  const auto r = run_llmc(
      {"distill",
       dir.write("r.yaml", "recipe_version: 1\nmodel: " + fixture("distill_student.pt") +
                               "\noutput: out\nthreads: 1\n"
                               "data: {path: " + test + ", labels: label}\n"
                               "task: {type: single-label}\nbench: {warmup: 1, runs: 2}\n"
                               "distill:\n  train_data: {path: " + train + ", labels: label}\n"
                               "  teacher: " + fixture("distill_teacher.pt") + "\n"
                               "  epochs: 2\n  learning_rate: 0.003\n  eval_steps: 5\n")},
      dir.path().string());
  INFO(r.err);
  REQUIRE(r.code == 0);
  const auto rep = read_json((dir.path() / "out/report.json").string());
  CHECK(rep.at("result").at("primary_metric").as_string() == "accuracy");
  CHECK(rep.at("details").at("loss").as_string().find("softmax-kl") != std::string::npos);
  // 512 / 16 = 32 steps per epoch: evaluations at steps 5, 10, ..., 30, then the epoch's end.
  const auto& history = rep.at("details").at("history").as_array();
  CHECK(history.size() == 2 * 7);
  CHECK(history.at(0).at("step").as_int() == 5);
  CHECK(history.at(6).at("step").as_int() == 32);
  // A class index the head does not have.
  const auto bad = dir.write("bad.jsonl", "{\"input_ids\": [2, 5], \"attention_mask\": [1, 1], \"label\": 4}\n");
  const auto b = run_llmc({"distill", (dir.path() / "r.yaml").string(), "--out", "o2", "--set",
                           "distill.train_data.path=" + bad},
                          dir.path().string());
  CHECK(b.code == 3);
  CHECK(b.err.find(bad + ":1: label 4 does not fit " + fixture("distill_student.pt") +
                   "'s 4 classes (0-3)") != std::string::npos);
}

TEST_CASE("quantization-aware training: int8 artifact, float student, comparison with PTQ") {
  llmc::test::TempDir dir;
  const auto r = run_llmc(
      {"distill",
       dir.write("qat.yaml",
                 recipe("distill_student_nodrop.pt",
                        "  alpha: 1\n  epochs: 2\n  learning_rate: 0.003\n"
                        "  qat: {start_epoch: 2, calibration_batches: 2}\n")),
       "--out", "qat"},
      dir.path().string());
  INFO(r.err);
  REQUIRE(r.code == 0);
  // What stays float is said, with its share.
  CHECK(r.err.find("embeddings.word_embeddings.weight") != std::string::npos);
  const auto report = read_json((dir.path() / "qat/report.json").string());
  const auto& d = report.at("details");
  const auto& q = d.at("qat");
  CHECK(q.at("scheme").as_string() == "static-int8");
  CHECK(q.at("coverage").at("fake_quantized_layers").as_int() >= 7);  // 6 in the layer + head
  CHECK(q.at("coverage").at("fake_quantized_share").as_double() > 0.1);
  CHECK(q.at("coverage").at("float_matrices").as_array().size() >= 1);
  CHECK(q.at("activation_ranges").as_array().size() == static_cast<size_t>(q.at("coverage").at("fake_quantized_layers").as_int()));
  CHECK(q.at("conversion").at("scheme").as_string() == "static-int8");
  const auto& history = d.at("history").as_array();
  REQUIRE(history.size() == 2);
  CHECK(history[0].at("fake_quant").as_string() == "no");
  CHECK(history[1].at("fake_quant").as_string() == "yes");
  CHECK(history[1].at("best").as_string() == "*");  // chosen among the fake-quantized epochs
  const auto& rows = d.at("qat_comparison").as_array();
  REQUIRE(rows.size() == 5);
  CHECK(rows[2].at("model").as_string().find("QAT static-int8") == 0);
  CHECK(rows[3].at("model").as_string().find("PTQ static-int8") == 0);
  CHECK(rows[4].at("model").as_string().find("PTQ dynamic-int8") == 0);
  for (const auto& row : rows) {
    CHECK(row.at("jaccard_samples").as_double() >= 0);
    CHECK(row.at("p50_ms").as_double() > 0);
  }
  CHECK(rows[0].at("drop").as_double() == 0);
  CHECK(rows[2].at("drop_vs_own_float").as_double() ==
        doctest::Approx(rows[1].at("jaccard_samples").as_double() - rows[2].at("jaccard_samples").as_double()).epsilon(1e-3));
  // The report's result is the int8 model; its metric is the comparison's QAT row.
  CHECK(metric(report.at("result"), "jaccard_samples") ==
        doctest::Approx(rows[2].at("jaccard_samples").as_double()).epsilon(1e-3));
  // The artifact is int8 and runs; the float student is next to it.
  at::globalContext().setQEngine(at::QEngine::ONEDNN);
  auto int8 = torch::jit::load((dir.path() / "qat/model.pt").string());
  bool packed = false;
  for (const auto& n : int8.get_method("forward").graph()->nodes()) {
    packed = packed || std::string(n->kind().toQualString()).rfind("quantized::", 0) == 0;
  }
  CHECK(packed);
  const auto ids = torch::randint(1, 1000, {2, 6});
  const auto mask = torch::ones({2, 6}, at::kLong);
  CHECK(int8.forward({ids, mask}).toTensor().sizes() == std::vector<int64_t>{2, 4});
  auto fp = torch::jit::load((dir.path() / "qat/student-float.pt").string());
  CHECK(fp.forward({ids, mask}).toTensor().sizes() == std::vector<int64_t>{2, 4});
  CHECK_FALSE(fs::exists(dir.path() / "qat.checkpoints"));

  // Recipe errors, before anything runs: an unknown key, start_epoch after the last epoch,
  // static-int8 without activations.
  auto expect = [&](const std::string& name, const std::string& qat, const std::string& message) {
    const auto e = run_llmc({"distill", dir.write(name + ".yaml", recipe("distill_student.pt",
                                                   "  alpha: 1\n  epochs: 2\n  qat: " + qat + "\n")),
                             "--out", name},
                            dir.path().string());
    INFO(name, ": ", e.err);
    CHECK(e.code == 2);
    CHECK(e.err.find(message) != std::string::npos);
    CHECK_FALSE(fs::exists(dir.path() / name));
  };
  expect("badkey", "{start_epoch: 1, weigths: per-tensor}", "distill.qat.weigths");
  expect("late", "{start_epoch: 3}", "start_epoch 3 is after the last epoch (2 epochs)");
  expect("noact", "{activations: false}", "static-int8 quantizes activations");
}
