// `llmc compare` end to end on the tiny distillation fixtures: a recipe with a teacher, a
// student and the student's ONNX export, the model-files form, gates against the reference,
// the serving cost, and bad recipes (exit 2 naming file:line, no output).
#include <cmath>
#include <filesystem>

#include "torch_doctest.h"

#include "cli.h"
#include "test_support.h"

using llmc::test::fixture;
using llmc::test::read_json;
using llmc::test::read_text;
using llmc::test::run_llmc;
namespace fs = std::filesystem;

namespace {

std::string compare_recipe(const std::string& models, const std::string& extra = "") {
  return "recipe_version: 1\noutput: out\nthreads: 1\n"
         "data: {path: " + fixture("distill_test.jsonl") + ", labels: labels, batch_size: 16}\n"
         "task: {type: multi-label}\n"
         "bench: {warmup: 1, runs: 3}\n" + extra +
         "compare:\n  models:\n" + models;
}

const llmc::util::Json& model_named(const llmc::util::Json& report, const std::string& name) {
  for (const auto& m : report.at("models").as_array()) {
    if (m.at("name").as_string() == name) return m;
  }
  FAIL("no model named " << name);
  return report;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("compare: teacher, student and the student's ONNX export side by side") {
  llmc::test::TempDir dir;
  // The student's ONNX file, from llmc export-onnx.
  const auto onnx_recipe = dir.write(
      "onnx.yaml", "recipe_version: 1\nmodel: " + fixture("distill_student.pt") +
                       "\noutput: onnx\nthreads: 1\n"
                       "data: {path: " + fixture("distill_test.jsonl") + ", batch_size: 16}\n"
                       "bench: {warmup: 1, runs: 2}\n"
                       "export_onnx:\n  dynamic_axes:\n    input_ids: [batch, sequence]\n"
                       "    attention_mask: [batch, sequence]\n");
  const auto exported = run_llmc({"export-onnx", onnx_recipe}, dir.path().string());
  INFO(exported.err);
  REQUIRE(exported.code == 0);
  const auto recipe = dir.write(
      "c.yaml", compare_recipe("    - {name: teacher, path: " + fixture("distill_teacher.pt") +
                                   "}\n"
                                   "    - {name: student, path: " + fixture("distill_student.pt") +
                                   "}\n"
                                   "    - {name: student onnx, path: onnx/model.onnx}\n",
                               "gates: {min_cosine: -1}\n") +
                   "  batch_size: 8\n  temperature: 4\n");
  const auto r = run_llmc({"compare", recipe}, dir.path().string());
  INFO(r.err);
  REQUIRE(r.code == 0);
  const auto report = read_json((dir.path() / "out/report.json").string());
  CHECK(report.at("command").as_string() == "compare");
  CHECK(report.at("status").as_string() == "passed");
  CHECK(report.at("reference").as_string() == "teacher");
  REQUIRE(report.at("models").size() == 3);
  CHECK(report.at("inputs").at("latency_batch_rows").as_int() == 8);
  const auto& teacher = model_named(report, "teacher");
  const auto& student = model_named(report, "student");
  const auto& onnx = model_named(report, "student onnx");
  CHECK(teacher.at("reference").as_bool());
  CHECK(teacher.at("agreement").is_null());
  CHECK(teacher.at("runtime").as_string() == "libtorch");
  CHECK(onnx.at("runtime").as_string().rfind("onnxruntime ", 0) == 0);
  for (const auto* m : {&teacher, &student, &onnx}) {
    CAPTURE(m->at("name").as_string());
    CHECK(m->at("latency").at("runs").as_int() == 3);
    CHECK(m->at("latency").at("p50_ms").as_double() > 0);
    CHECK(m->at("memory").at("peak_rss_bytes").as_int() > 0);
    CHECK(m->at("file_bytes").as_int() > 0);
    CHECK(m->at("parameter_count").as_int() > 0);
    CHECK(m->at("primary_metric").as_string() == "jaccard_samples");
  }
  // The teacher is the larger model; the ONNX file holds the student's weights.
  CHECK(teacher.at("parameter_count").as_int() > student.at("parameter_count").as_int());
  CHECK(std::abs(onnx.at("parameter_count").as_int() - student.at("parameter_count").as_int()) <
        student.at("parameter_count").as_int() / 10);
  // The ONNX run of the student agrees with LibTorch's: same metric, same labels.
  CHECK(onnx.at("metrics").at("jaccard_samples").as_double() ==
        doctest::Approx(student.at("metrics").at("jaccard_samples").as_double()).epsilon(1e-3));
  CHECK(student.at("agreement").at("label_agreement").is_number());
  CHECK(student.at("comparison").at("speedup").as_double() > 0);
  CHECK(student.at("comparison").at("size_ratio").as_double() < 1);
  // One gate per model other than the reference, named after it.
  REQUIRE(report.at("gates").size() == 2);
  CHECK(report.at("gates").as_array()[0].at("name").as_string() == "student: min_cosine");
  // The softmax panel: the 4 labels of the teacher's first row at T 1 and T 4.
  const auto& panel = report.at("details").at("softmax");
  CHECK(panel.at("temperature").as_double() == 4);
  CHECK(panel.at("p_t").size() == 4);
  // report.md, report.html and the summary on stdout.
  const std::string md = read_text((dir.path() / "out/report.md").string());
  CHECK(contains(md, "# llmc compare report: PASSED"));
  CHECK(contains(md, "| teacher (reference) | libtorch |"));
  CHECK(contains(md, "| student onnx | onnxruntime "));
  const std::string html = read_text((dir.path() / "out/report.html").string());
  for (const char* chart : {"size", "latency", "memory", "metric", "softmax"}) {
    CAPTURE(chart);
    CHECK(contains(html, std::string("<figure class=\"chart\" data-chart=\"") + chart + "\">"));
  }
  CHECK_FALSE(contains(html, "<script"));
  CHECK(contains(r.out, "teacher *"));
  CHECK(contains(r.out, "student onnx"));
  CHECK(contains(r.out, "status    passed"));
}

TEST_CASE("compare: model files on the command line, a reference by path, --json") {
  llmc::test::TempDir dir;
  fs::copy_file(fixture("distill_teacher.pt"), dir.path() / "teacher.pt");
  fs::copy_file(fixture("distill_student.pt"), dir.path() / "student.pt");
  const auto r = run_llmc({"compare", "teacher.pt", "student.pt", "--data",
                           fixture("distill_test.jsonl"), "--labels", "labels", "--task",
                           "multi-label", "--reference", "student.pt", "--batch-size", "4",
                           "--set", "bench.runs=2", "--set", "bench.memory=false", "--json"},
                          dir.path().string());
  INFO(r.err);
  REQUIRE(r.code == 0);
  const auto out = llmc::util::parse_json(r.out);
  CHECK(out.at("reference").as_string() == "student.pt");
  CHECK(out.at("inputs").at("latency_batch_rows").as_int() == 4);
  CHECK(model_named(out, "teacher.pt").at("memory").is_null());
  CHECK(model_named(out, "teacher.pt").at("agreement").at("cosine").is_number());
  // The default output directory, with the same report.
  CHECK(read_json((dir.path() / "compare-out/report.json").string()).at("reference").as_string() ==
        "student.pt");
  CHECK(fs::exists(dir.path() / "compare-out/report.html"));
}

TEST_CASE("compare: a failed gate exits 1 with the reports written; cost per model") {
  llmc::test::TempDir dir;
  const auto recipe = dir.write(
      "c.yaml",
      compare_recipe("    - {path: " + fixture("distill_teacher.pt") + "}\n    - {path: " +
                         fixture("distill_student.pt") + "}\n",
                     "gates: {min_cosine: 0.999999}\n") +
          "  cost: {hardware_per_hour: 2, requests_per_month: 3600000, rows_per_request: 2,\n"
          "         tokens_per_request: 100, api_price_per_1k_tokens: 0.5}\n");
  const auto r = run_llmc({"compare", recipe}, dir.path().string());
  CHECK(r.code == 1);
  CHECK(contains(r.err, "distill_student.pt: min_cosine"));
  const auto report = read_json((dir.path() / "out/report.json").string());
  CHECK(report.at("status").as_string() == "failed");
  // 3.6 M requests x 2 rows / (throughput x 3600 s) hours at 2 per hour.
  const auto& student = model_named(report, "distill_student.pt");
  const double throughput = student.at("latency").at("throughput_per_s").as_double();
  CHECK(student.at("cost").at("monthly_cost").as_double() ==
        doctest::Approx(3600000.0 * 2 / (throughput * 3600) * 2));
  // 3.6 M requests x 1 call x 100 tokens / 1000 x 0.5.
  CHECK(report.at("details").at("cost").at("api_monthly_cost").as_double() ==
        doctest::Approx(180000));
  CHECK(contains(read_text((dir.path() / "out/report.html").string()), "data-chart=\"cost\""));
}

TEST_CASE("compare: bad recipes exit 2 naming file:line and write nothing") {
  llmc::test::TempDir dir;
  const std::string two = "    - {name: a, path: " + fixture("distill_teacher.pt") +
                          "}\n    - {name: b, path: " + fixture("distill_student.pt") + "}\n";
  SUBCASE("model: is not a compare key") {
    const auto recipe =
        dir.write("c.yaml", "model: " + fixture("distill_teacher.pt") + "\n" + compare_recipe(two));
    const auto r = run_llmc({"compare", recipe}, dir.path().string());
    CHECK(r.code == 2);
    CHECK(contains(r.err, "c.yaml:1:1: model: unknown key \"model\": llmc compare reads its "
                          "models from compare.models"));
  }
  SUBCASE("an unknown reference") {
    const auto recipe = dir.write("c.yaml", compare_recipe(two) + "  reference: c\n");
    const auto r = run_llmc({"compare", recipe}, dir.path().string());
    CHECK(r.code == 2);
    CHECK(contains(r.err, "c.yaml:11:14: compare.reference: no model is named \"c\" (models: a, b)"));
  }
  SUBCASE("two models of the same name") {
    const auto recipe = dir.write(
        "c.yaml", compare_recipe("    - {name: a, path: " + fixture("distill_teacher.pt") +
                                 "}\n    - {name: a, path: " + fixture("distill_student.pt") + "}\n"));
    const auto r = run_llmc({"compare", recipe}, dir.path().string());
    CHECK(r.code == 2);
    CHECK(contains(r.err, "two models are named \"a\""));
  }
  SUBCASE("a distill_report that is not one") {
    const auto recipe = dir.write(
        "c.yaml", compare_recipe("    - {name: a, path: " + fixture("distill_teacher.pt") +
                                 ", distill_report: " + fixture("distill_test.jsonl") + "}\n"));
    const auto r = run_llmc({"compare", recipe}, dir.path().string());
    CHECK(r.code == 3);
    CHECK(contains(r.err, "cannot read the distill report"));
  }
  CHECK_FALSE(fs::exists(dir.path() / "out"));
}

TEST_CASE("compare: an int8 model from llmc quantize beside its original, on the engine asked") {
  llmc::test::TempDir dir;
  const std::string head = "recipe_version: 1\nthreads: 1\n"
                           "data: {path: " + fixture("distill_test.jsonl") +
                           ", labels: labels, batch_size: 16}\n"
                           "task: {type: multi-label}\nbench: {warmup: 1, runs: 2}\n";
  const auto q = run_llmc({"quantize", dir.write("q.yaml", head + "model: " +
                                                               fixture("distill_student.pt") +
                                                               "\noutput: q\nquantize: {scheme: "
                                                               "dynamic-int8, engine: onednn}\n")},
                          dir.path().string());
  INFO(q.err);
  REQUIRE(q.code == 0);
  const auto r = run_llmc(
      {"compare", dir.write("c.yaml", head + "output: out\ncompare:\n  models:\n    - {name: fp32, path: " +
                                          fixture("distill_student.pt") +
                                          "}\n    - {name: int8, path: q/model.pt}\n"
                                          "  quantized_engine: onednn\n")},
      dir.path().string());
  INFO(r.err);
  REQUIRE(r.code == 0);
  const auto report = read_json((dir.path() / "out/report.json").string());
  CHECK(report.at("details").at("quantized_engine").as_string() == "onednn");
  const auto& int8 = model_named(report, "int8");
  CHECK(int8.at("comparison").at("size_ratio").as_double() < 1);
  CHECK(int8.at("agreement").at("cosine").as_double() > 0.9);
  CHECK(int8.at("memory").at("peak_rss_bytes").as_int() > 0);
}
