// Models as users bring them: small BERT, DistilBERT, GPT-2 and LLaMA in Hugging Face layouts
// (tests/fixtures/hf_models.py), traced, scripted and as PyTorch 2.x archives whose attention is
// one scaled_dot_product_attention call (tests/fixtures/sdpa_archive.py), through the
// subcommands. Artifacts must load in a plain LibTorch 1.13 (this process never registers the
// 2.x operator) and agree with the original.
#include <filesystem>
#include <string>
#include <vector>

#include "torch_doctest.h"

#include "cli.h"
#include "test_support.h"

using llmc::test::fixture;
using llmc::test::read_json;
using llmc::test::run_llmc;
namespace fs = std::filesystem;

namespace {

const char* kInputs =
    "example_inputs:\n"
    "  - {name: input_ids, shape: [2, 16], dtype: int64, range: [1, 1000]}\n"
    "  - {name: attention_mask, shape: [2, 16], dtype: int64, fill: 1}\n";

std::string recipe(const std::string& model, const std::string& body) {
  return "recipe_version: 1\nmodel: " + fixture(model) + "\noutput: out\n" + kInputs +
         "bench: {warmup: 1, runs: 2}\n" + body;
}

struct Run {
  int code = -1;
  std::string err;
  llmc::util::Json report;
};

Run run(const llmc::test::TempDir& dir, const std::string& command, const std::string& text,
        const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args{command, dir.write("r.yaml", text), "--force"};
  args.insert(args.end(), extra.begin(), extra.end());
  const auto r = run_llmc(args, dir.path().string());
  Run out{r.code, r.err, {}};
  const auto report = dir.path() / "out/report.json";
  if (fs::exists(report)) out.report = read_json(report.string());
  return out;
}

int count_ops(const torch::jit::Module& m, const std::string& kind) {
  int n = 0;
  for (const auto& sub : m.modules()) {
    for (auto* f : sub.type()->methods()) {
      for (const auto* node : torch::jit::toGraphFunction(*f).graph()->nodes()) {
        n += node->kind().toQualString() == kind ? 1 : 0;
      }
    }
  }
  return n;
}

const std::vector<std::string>& sdpa_models() {
  static const std::vector<std::string> v = {"hf_bert_sdpa.pt", "hf_distilbert_sdpa.pt",
                                             "hf_gpt2_sdpa.pt", "hf_llama_sdpa.pt"};
  return v;
}

}  // namespace

TEST_CASE("PyTorch 2.x archives with SDPA attention: eval-freeze decomposes it, the artifact loads "
          "in plain LibTorch and agrees with the eager trace") {
  for (const auto& model : sdpa_models()) {
    INFO(model);
    // The fixture really calls the operator LibTorch 1.13 lacks.
    CHECK_THROWS(torch::jit::load(fixture(model)));
    llmc::test::TempDir dir;
    const auto r = run(dir, "eval-freeze", recipe(model, "gates: {max_abs_diff: 1.0e-4}\n"));
    INFO(r.err);
    REQUIRE(r.code == 0);
    const auto& sdpa = r.report.at("details").at("scaled_dot_product_attention");
    CHECK(sdpa.at("decomposed").as_int() == 2);  // one per layer
    CHECK(sdpa.at("mask_dtype_unknown").as_int() == 0);
    CHECK(r.err.find("scaled_dot_product_attention calls (PyTorch 2.x attention) decomposed") !=
          std::string::npos);
    auto artifact = torch::jit::load((dir.path() / "out/model.pt").string());
    CHECK(count_ops(artifact, "aten::scaled_dot_product_attention") == 0);
    // The same model traced eagerly (the archive before the 2.x rewrite) gives the same logits.
    std::string eager = model;
    eager.replace(eager.find("_sdpa"), 5, "_traced");
    auto reference = torch::jit::load(fixture(eager));
    reference.eval();
    at::manual_seed(5);
    const auto ids = at::randint(1, 1000, {3, 11}, at::kLong);
    auto mask = at::ones({3, 11}, at::kLong);
    mask.index_put_({1, at::indexing::Slice(7, at::indexing::None)}, 0);
    torch::NoGradGuard no_grad;
    const at::Tensor want = reference.forward({ids, mask}).toTensor();
    const at::Tensor got = artifact.forward({ids, mask}).toTensor();
    REQUIRE(got.sizes() == want.sizes());
    CHECK((got - want).abs().max().item<double>() <= 1e-4);
  }
}

TEST_CASE("PyTorch 2.x archives through quantize, prune and export-onnx") {
  for (const auto& model : sdpa_models()) {
    INFO(model);
    llmc::test::TempDir dir;
    SUBCASE("quantize dynamic-int8") {
      const auto r = run(dir, "quantize", recipe(model, "quantize: {scheme: dynamic-int8}\n"));
      INFO(r.err);
      REQUIRE(r.code == 0);
      CHECK(r.report.at("agreement").at("cosine").as_double() > 0.99);
      CHECK_NOTHROW(torch::jit::load((dir.path() / "out/model.pt").string()));
    }
    SUBCASE("quantize bf16") {
      const auto r = run(dir, "quantize", recipe(model, "quantize: {scheme: bf16}\n"));
      INFO(r.err);
      REQUIRE(r.code == 0);
      CHECK(r.report.at("agreement").at("cosine").as_double() > 0.99);
    }
    SUBCASE("prune unstructured 50 %") {
      const auto r = run(dir, "prune", recipe(model, "prune: {sparsity: 0.5}\n"));
      INFO(r.err);
      REQUIRE(r.code == 0);
      CHECK_NOTHROW(torch::jit::load((dir.path() / "out/model.pt").string()));
    }
    SUBCASE("export-onnx, verified in ONNX Runtime") {
      const auto r = run(dir, "export-onnx",
                         recipe(model, "export_onnx:\n  dynamic_axes:\n"
                                       "    input_ids: [batch, sequence]\n"
                                       "    attention_mask: [batch, sequence]\n"));
      INFO(r.err);
      REQUIRE(r.code == 0);
      CHECK(r.report.at("details").at("checker").as_string() == "passed");
      for (const auto& row : r.report.at("details").at("verified_shapes").as_array()) {
        CHECK(row.at("max_abs_diff").as_double() <= 1e-4);
      }
    }
  }
}

TEST_CASE("an operator LibTorch lacks is named with its line in the archive and what to do") {
  llmc::test::TempDir dir;
  const auto r = run(dir, "eval-freeze", recipe("hf_newer_op.pt", ""));
  CHECK(r.code == 3);
  CHECK(r.err.find("it calls aten::") != std::string::npos);
  CHECK(r.err.find("at code/") != std::string::npos);
  CHECK(r.err.find("attn_implementation=\"eager\"") != std::string::npos);
  CHECK(r.err.find(fixture("hf_newer_op.pt")) != std::string::npos);
  CHECK_FALSE(fs::exists(dir.path() / "out"));
}
