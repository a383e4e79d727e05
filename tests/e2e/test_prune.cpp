// `llmc prune` end to end on the tiny BERT: unstructured (local, global, overrides, gradual),
// N:M, Wanda, structured feed-forward and head removal, and bad inputs.
#include <filesystem>

#include "torch_doctest.h"

#include "cli.h"
#include "test_support.h"

using llmc::test::fixture;
using llmc::test::read_json;
using llmc::test::run_llmc;
namespace fs = std::filesystem;

namespace {

std::string prune_recipe(const std::string& section, const std::string& model = "bert_tiny.pt") {
  return "recipe_version: 1\nmodel: " + fixture(model) +
         "\noutput: out\n"
         "example_inputs:\n"
         "  - {name: input_ids, shape: [8, 32], dtype: int64, range: [1, 1000]}\n"
         "  - {name: attention_mask, shape: [8, 32], dtype: int64, fill: 1}\n"
         "bench: {warmup: 1, runs: 3}\n" + section;
}

llmc::util::Json run_ok(const llmc::test::TempDir& dir, const std::string& text) {
  const auto r = run_llmc({"prune", dir.write("r.yaml", text)}, dir.path().string());
  INFO(r.err);
  REQUIRE(r.code == 0);
  return read_json((dir.path() / "out/report.json").string());
}

at::Tensor weight(torch::jit::Module m, const std::string& path) {
  size_t start = 0;
  while (true) {
    const size_t dot = path.find('.', start);
    m = m.attr(path.substr(start, dot == std::string::npos ? std::string::npos : dot - start)).toModule();
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return m.attr("weight").toTensor();
}

}  // namespace

TEST_CASE("unstructured magnitude, local: every selected layer at the target, the rest untouched") {
  llmc::test::TempDir dir;
  const auto rep = run_ok(dir, prune_recipe("prune: {sparsity: 0.5, exclude: [classifier, \"*.pooler.*\"]}\n"));
  const auto& layers = rep.at("details").at("layers").as_array();
  CHECK(layers.size() == 12);  // 2 layers x (q, k, v, attention output, intermediate, output)
  for (const auto& l : layers) CHECK(l.at("sparsity").as_double() == 0.5);
  CHECK(rep.at("details").at("sparsity").as_double() == 0.5);
  // Zeros compress; dense storage does not shrink.
  CHECK(rep.at("details").at("deflated_size_ratio").as_double() < 0.9);
  CHECK(rep.at("comparison").at("size_ratio").as_double() > 0.95);
  // Plain TorchScript: the zeros are in the weights, no masks.
  auto m = torch::jit::load((dir.path() / "out/model.pt").string());
  const auto q = weight(m, "bert.encoder.layer.0.attention.self.query");
  CHECK(q.eq(0).sum().item<int64_t>() == q.numel() / 2);
  CHECK(weight(m, "classifier").eq(0).sum().item<int64_t>() == 0);
  CHECK(m.named_parameters().size() == torch::jit::load(fixture("bert_tiny.pt")).named_parameters().size());
  // The smallest magnitudes went: every kept |w| >= every pruned original |w|.
  const auto orig = weight(torch::jit::load(fixture("bert_tiny.pt")), "bert.encoder.layer.0.attention.self.query");
  const auto kept = orig.abs().masked_select(q.ne(0));
  const auto dropped = orig.abs().masked_select(q.eq(0));
  CHECK(kept.min().item<double>() >= dropped.max().item<double>());
}

TEST_CASE("global scope, overrides and gradual steps") {
  llmc::test::TempDir dir;
  SUBCASE("global: one threshold, overall sparsity at the target") {
    const auto rep = run_ok(dir, prune_recipe("prune: {sparsity: 0.7, scope: global, exclude: [classifier]}\n"));
    CHECK(rep.at("details").at("sparsity").as_double() == doctest::Approx(0.7).epsilon(1e-4));
    double lo = 1, hi = 0;
    for (const auto& l : rep.at("details").at("layers").as_array()) {
      lo = std::min(lo, l.at("sparsity").as_double());
      hi = std::max(hi, l.at("sparsity").as_double());
    }
    CHECK(hi - lo > 0.01);  // layers differ
  }
  SUBCASE("overrides: the first matching glob sets a layer's sparsity") {
    const auto rep = run_ok(dir, prune_recipe(
        "prune:\n  sparsity: 0.5\n  exclude: [classifier]\n"
        "  overrides: [{layers: \"*.intermediate.dense\", sparsity: 0.25}]\n"));
    for (const auto& l : rep.at("details").at("layers").as_array()) {
      const bool inter = l.at("layer").as_string().find("intermediate") != std::string::npos;
      CHECK(l.at("sparsity").as_double() == (inter ? 0.25 : 0.5));
    }
  }
  SUBCASE("comparison: row: every output row loses the same share") {
    const auto rep = run_ok(dir, prune_recipe("prune: {sparsity: 0.25, comparison: row, exclude: [classifier]}\n"));
    CHECK(rep.at("details").at("comparison").as_string() == "row");
    auto m = torch::jit::load((dir.path() / "out/model.pt").string());
    const auto w = weight(m, "bert.encoder.layer.0.intermediate.dense");  // [128, 64]
    CHECK(w.eq(0).sum(1).eq(16).all().item<bool>());
  }
  SUBCASE("steps: gradual, ending at the target, reproducible") {
    const auto r = run_llmc({"prune", dir.write("r.yaml", prune_recipe("prune: {sparsity: 0.6, steps: 3, method: magnitude}\n"))},
                            dir.path().string());
    INFO(r.err);
    REQUIRE(r.code == 0);
    CHECK(r.err.find("step 1/3: 19.9") != std::string::npos);  // 20% of each layer, rounded
    CHECK(r.err.find("step 2/3: ") != std::string::npos);
    const auto a = read_json((dir.path() / "out/report.json").string());
    CHECK(a.at("details").at("sparsity").as_double() == doctest::Approx(0.6).epsilon(1e-3));
    const auto r2 = run_llmc({"prune", (dir.path() / "r.yaml").string(), "--out", "again"}, dir.path().string());
    REQUIRE(r2.code == 0);
    CHECK(read_json((dir.path() / "again/report.json").string()).at("result").at("sha256").as_string() ==
          a.at("result").at("sha256").as_string());
  }
}

TEST_CASE("2:4 semi-structured: two zeros in every group of four inputs") {
  llmc::test::TempDir dir;
  const auto rep = run_ok(dir, prune_recipe("prune: {pattern: \"2:4\", exclude: [classifier]}\n"));
  CHECK(rep.at("details").at("sparsity").as_double() == 0.5);
  auto m = torch::jit::load((dir.path() / "out/model.pt").string());
  const auto w = weight(m, "bert.encoder.layer.1.intermediate.dense");
  const auto zeros_per_group = w.reshape({-1, 4}).eq(0).sum(1);
  CHECK(zeros_per_group.eq(2).all().item<bool>());
}

TEST_CASE("wanda: |W| x ||X|| from calibration data, compared within each row") {
  llmc::test::TempDir dir;
  const auto wanda_recipe = [](const std::string& more_options) {
    return "recipe_version: 1\nmodel: " + fixture("distill_teacher.pt") +
           "\noutput: out\n"
           "data: {path: " + fixture("distill_test.jsonl") + ", labels: labels}\n"
           "task: {type: multi-label}\nbench: {warmup: 1, runs: 2}\n"
           "prune: {method: wanda, sparsity: 0.5, calibration_batches: 4, exclude: [classifier]" +
           more_options + "}\n";
  };
  const auto rep = run_ok(dir, wanda_recipe(""));
  CHECK(rep.at("details").at("method").as_string() == "wanda");
  CHECK(rep.at("details").at("calibration_rows").as_int() == 64);
  CHECK(rep.at("result").at("metrics").at("jaccard_samples").is_number());
  auto m = torch::jit::load((dir.path() / "out/model.pt").string());
  const auto w = weight(m, "bert.encoder.layer.0.output.dense");  // [64, 128]
  CHECK(w.eq(0).sum(1).eq(64).all().item<bool>());  // half of every row
  // Not the magnitude choice: some pruned weight is larger than some kept one in a row.
  const auto orig = weight(torch::jit::load(fixture("distill_teacher.pt")), "bert.encoder.layer.0.output.dense");
  const auto row_kept_min = orig.abs().masked_fill(w.eq(0), 1e9).amin(1);
  const auto row_dropped_max = orig.abs().masked_fill(w.ne(0), -1).amax(1);
  CHECK(row_dropped_max.gt(row_kept_min).any().item<bool>());
  // Calibrated on the evaluation data: the report says so.
  CHECK(rep.at("details").at("calibration_source").as_string() == fixture("distill_test.jsonl"));
  bool overlap_warned = false;
  for (const auto& w : rep.at("warnings").as_array()) {
    overlap_warned = overlap_warned || w.as_string().find("also cover") != std::string::npos;
  }
  CHECK(overlap_warned);

  SUBCASE("calibration_data: calibrated on other samples, so other masks and no warning") {
    llmc::test::TempDir other;
    const auto rc = run_ok(other, wanda_recipe(", calibration_data: {path: " +
                                               fixture("distill_train.jsonl") + ", batch_size: 16}"));
    CHECK(rc.at("details").at("calibration_source").as_string() == fixture("distill_train.jsonl"));
    CHECK(rc.at("details").at("calibration_rows").as_int() == 64);
    CHECK(rc.at("warnings").as_array().empty());
    const auto wc = weight(torch::jit::load((other.path() / "out/model.pt").string()),
                           "bert.encoder.layer.0.output.dense");
    CHECK(wc.eq(0).sum(1).eq(64).all().item<bool>());
    CHECK_FALSE(at::equal(wc.eq(0), w.eq(0)));  // other activations, other choices
  }
}

TEST_CASE("structured: feed-forward neurons and attention heads removed, tensors shrink") {
  llmc::test::TempDir dir;
  const auto rep = run_ok(dir, prune_recipe("prune: {structured: {ffn: 0.5, heads: 0.5}}\n"));
  const auto& changes = rep.at("details").at("structured").as_array();
  // 2 feed-forward blocks, the pooler (dense -> tanh -> classifier is the same pattern) and
  // 2 attention layers.
  CHECK(changes.size() == 5);
  CHECK(changes.at(2).at("layer").as_string() == "bert.pooler.dense");
  CHECK(rep.at("result").at("parameter_count").as_int() < 0.8 * rep.at("original").at("parameter_count").as_int());
  CHECK(rep.at("comparison").at("size_ratio").as_double() < 0.85);
  auto m = torch::jit::load((dir.path() / "out/model.pt").string());
  CHECK(weight(m, "bert.encoder.layer.0.intermediate.dense").sizes() == torch::IntArrayRef({64, 64}));
  CHECK(weight(m, "bert.encoder.layer.0.output.dense").sizes() == torch::IntArrayRef({64, 64}));
  CHECK(weight(m, "bert.encoder.layer.1.attention.self.value").sizes() == torch::IntArrayRef({32, 64}));
  CHECK(weight(m, "bert.encoder.layer.1.attention.output.dense").sizes() == torch::IntArrayRef({64, 32}));
  const auto attention = m.attr("bert").toModule().attr("encoder").toModule().attr("layer").toModule()
                             .attr("1").toModule().attr("attention").toModule().attr("self").toModule();
  CHECK(attention.attr("num_heads").toInt() == 1);
  // Runs for other batch and sequence sizes with plain LibTorch.
  torch::NoGradGuard no_grad;
  const auto out = m.forward({torch::randint(1, 1000, {3, 17}), torch::ones({3, 17}, torch::kLong)}).toTensor();
  CHECK(out.sizes() == torch::IntArrayRef({3, 3}));
  // The attention rewrites ran after pruning (head_dim 32: √32 folded, not bit-exact).
  const auto& rw = rep.at("details").at("attention_rewrites");
  REQUIRE(rw.at("scale_folded").size() == 2);
  CHECK(rw.at("scale_folded").at(0).at("linear").as_string() == "query");
  CHECK(!rw.at("scale_folded").at(0).at("exact").as_bool());
  CHECK(rw.at("contiguous_transposed_operands").as_int() == 1);
  CHECK(rep.at("agreement").at("cosine").as_double() > 0.9);
}

TEST_CASE("prune: bad inputs are clear errors with documented exit codes and no artifact") {
  llmc::test::TempDir dir;
  auto expect = [&](const std::string& name, const std::string& text, int code, const std::string& message) {
    const auto r = run_llmc({"prune", dir.write(name + ".yaml", text), "--out", name}, dir.path().string());
    INFO(name, ": ", r.err);
    CHECK(r.code == code);
    CHECK(r.err.find(message) != std::string::npos);
    CHECK_FALSE(fs::exists(dir.path() / name));
  };
  expect("one", prune_recipe("prune: {sparsity: 1.0}\n"), 2, "prune.sparsity: 1.0 is out of range");
  expect("negative", prune_recipe("prune: {sparsity: -0.1}\n"), 2, "prune.sparsity");
  expect("nothing", prune_recipe("prune: {sparsity: 0.5, include: [\"decoder.*\"]}\n"), 2,
         "include decoder.* minus exclude (nothing) selects none of the model's 14 Linear layers");
  expect("override", prune_recipe("prune: {sparsity: 0.5, overrides: [{layers: \"nope.*\", sparsity: 0.1}]}\n"), 2,
         "\"nope.*\" matches none of the selected layers");
  expect("wanda", prune_recipe("prune: {sparsity: 0.5, method: wanda}\n"), 2, "wanda scores weights by the activations");
  expect("calibration", prune_recipe("prune: {sparsity: 0.5, method: wanda, calibration_data: {path: missing.jsonl}}\n"),
         2, "prune.calibration_data.path: file not found");
  expect("pattern", prune_recipe("prune: {pattern: \"4:2\"}\n"), 2, "expected unstructured or N:M");
  expect("width", prune_recipe("prune: {pattern: \"3:5\"}\n"), 3, "multiple of 5");
  expect("fused", prune_recipe("prune: {structured: {heads: 0.5}}\n", "lm_student.pt"), 3,
         "h.0.c_attn is split in thirds by a size computed in forward");
  expect("noop", prune_recipe("prune: {method: magnitude}\n"), 2, "nothing to prune");
}

TEST_CASE("structured: conv output channels with their batch norm and the next layer's inputs") {
  llmc::test::TempDir dir;
  const auto rep = run_ok(dir, "recipe_version: 1\nmodel: " + fixture("cnn_bn.pt") +
                                   "\noutput: out\n"
                                   "example_inputs: [{name: input, shape: [4, 3, 32, 32]}]\n"
                                   "bench: {warmup: 1, runs: 2}\n"
                                   "prune: {structured: {channels: 0.5}}\n");
  const auto& changes = rep.at("details").at("structured").as_array();
  REQUIRE(changes.size() == 2);  // conv 0 -> BN -> ReLU -> pool -> conv 4; conv 4 -> ... -> Linear
  auto m = torch::jit::load((dir.path() / "out/model.pt").string());
  CHECK(m.attr("0").toModule().attr("weight").toTensor().sizes() == torch::IntArrayRef({4, 3, 3, 3}));
  CHECK(m.attr("1").toModule().attr("running_var").toTensor().sizes() == torch::IntArrayRef({4}));
  CHECK(m.attr("4").toModule().attr("weight").toTensor().sizes() == torch::IntArrayRef({8, 4, 3, 3}));
  CHECK(m.attr("5").toModule().attr("running_mean").toTensor().sizes() == torch::IntArrayRef({8}));
  CHECK(m.attr("9").toModule().attr("weight").toTensor().sizes() == torch::IntArrayRef({5, 8}));
  torch::NoGradGuard no_grad;
  CHECK(m.forward({torch::randn({2, 3, 32, 32})}).toTensor().sizes() == torch::IntArrayRef({2, 5}));
}
