// `llmc export-onnx` end to end: every coverage model (BERT, DistilBERT, GPT-2, CNN, LSTM;
// scripted and traced) exported, checked, and verified in ONNX Runtime; then the file is run
// again here, independently of llmc's own verification, on a shape llmc never saw. Bad inputs
// leave no output directory.
#include <filesystem>

#include "torch_doctest.h"

#include "cli.h"
#include "llmc/onnx/lower_context.h"
#include "llmc/onnx/ort.h"
#include "test_support.h"

using llmc::test::fixture;
using llmc::test::read_json;
using llmc::test::run_llmc;
namespace fs = std::filesystem;

namespace {

const char* kTextInputs =
    "example_inputs:\n"
    "  - {name: input_ids, shape: [2, 16], dtype: int64, range: [1, 1000]}\n"
    "  - {name: attention_mask, shape: [2, 16], dtype: int64, fill: 1}\n";
const char* kTextAxes =
    "  dynamic_axes:\n"
    "    input_ids: [batch, sequence]\n"
    "    attention_mask: [batch, sequence]\n";

std::string recipe(const std::string& model, const std::string& inputs,
                   const std::string& section) {
  return "recipe_version: 1\nmodel: " + fixture(model) + "\noutput: out\n" + inputs +
         "bench: {warmup: 1, runs: 3}\nexport_onnx:\n" + section;
}

llmc::util::Json run_ok(const llmc::test::TempDir& dir, const std::string& text) {
  const auto r = run_llmc({"export-onnx", dir.write("r.yaml", text)}, dir.path().string());
  INFO(r.err);
  REQUIRE(r.code == 0);
  return read_json((dir.path() / "out/report.json").string());
}

int64_t ops(const llmc::util::Json& rep, const std::string& op) {
  const auto* v = rep.at("details").at("op_histogram").find(op);
  return v ? v->as_int() : 0;
}

// Every verified shape within tolerance, and more than one batch and sequence size among them.
void check_verified(const llmc::util::Json& rep) {
  const auto& d = rep.at("details");
  CHECK(d.at("checker").as_string() == "passed");
  const auto& rows = d.at("verified_shapes").as_array();
  CHECK(rows.size() >= 3);
  for (const auto& row : rows) {
    INFO(row.at("inputs").as_string());
    CHECK(row.at("max_abs_diff").as_double() <= 1e-4);
  }
  CHECK(rep.at("status").as_string() == "passed");
}

// Runs model.onnx in ONNX Runtime here, on inputs llmc never saw, against LibTorch.
void check_independently(const std::string& onnx, const std::string& model,
                         const std::vector<std::pair<std::string, at::Tensor>>& inputs,
                         double tolerance = 1e-4) {
  llmc::onnx::OrtRequest req;
  req.model = onnx;
  std::vector<llmc::onnx::NamedTensor> run;
  std::vector<c10::IValue> args;
  for (const auto& [name, t] : inputs) {
    run.push_back({name, t});
    args.push_back(t);
  }
  req.runs.push_back(run);
  const auto res = llmc::onnx::run_onnxruntime(req, llmc::onnx::find_ort_runner(""));
  auto m = torch::jit::load(model);
  m.eval();
  torch::NoGradGuard no_grad;
  const auto ref = m.forward(args);
  const at::Tensor expected = ref.isTensor() ? ref.toTensor() : ref.toTupleRef().elements()[0].toTensor();
  REQUIRE(res.outputs.size() == 1);
  const at::Tensor got = res.outputs[0][0];
  REQUIRE(got.sizes() == expected.sizes());
  CHECK((got - expected).abs().max().item<double>() <= tolerance);
}

std::vector<std::pair<std::string, at::Tensor>> text_inputs(int64_t batch, int64_t seq,
                                                            bool mask = true) {
  at::manual_seed(11);
  auto ids = at::randint(1, 1000, {batch, seq}, at::kLong);
  std::vector<std::pair<std::string, at::Tensor>> v{{"input_ids", ids}};
  if (mask) {
    auto m = at::ones({batch, seq}, at::kLong);
    m.index_put_({0, at::indexing::Slice(seq / 2, at::indexing::None)}, 0);  // padding
    v.push_back({"attention_mask", m});
  }
  return v;
}

}  // namespace

TEST_CASE("BERT encoder with attention mask, scripted and traced: dynamic batch and sequence") {
  for (const std::string model : {"bert_tiny_eval.pt", "export_bert_traced.pt"}) {
    INFO(model);
    llmc::test::TempDir dir;
    const auto rep = run_ok(dir, recipe(model, kTextInputs,
                                        std::string(kTextAxes) + "  output_names: [logits]\n"));
    check_verified(rep);
    const auto& d = rep.at("details");
    CHECK(d.at("inputs").at(0).at("dims").as_string() == "[batch, sequence]");
    CHECK(d.at("outputs").at(0).at("name").as_string() == "logits");
    CHECK(d.at("outputs").at(0).at("dims").as_string() == "[batch, 3]");
    CHECK(ops(rep, "LayerNormalization") == 5);  // embeddings + 2 per layer
    CHECK(ops(rep, "Erf") == 2);                 // GELU in the ORT-fusable form
    check_independently((dir.path() / "out/model.onnx").string(), fixture(model),
                        text_inputs(7, 37));
  }
}

TEST_CASE("DistilBERT-style classifier (eq, masked_fill, expand_as, relu), scripted and traced") {
  for (const std::string model : {"export_distilbert.pt", "export_distilbert_traced.pt"}) {
    INFO(model);
    llmc::test::TempDir dir;
    const auto rep = run_ok(dir, recipe(model, kTextInputs, kTextAxes));
    check_verified(rep);
    CHECK(ops(rep, "Where") == 2);
    check_independently((dir.path() / "out/model.onnx").string(), fixture(model),
                        text_inputs(3, 23));
  }
}

TEST_CASE("GPT-2-style causal LM: fused qkv split, causal mask, tanh GELU, tied embeddings") {
  for (const std::string model : {"lm_teacher.pt", "export_gpt2_traced.pt"}) {
    INFO(model);
    llmc::test::TempDir dir;
    const auto rep = run_ok(dir, recipe(model, kTextInputs, kTextAxes));
    check_verified(rep);
    CHECK(ops(rep, "Split") == 2);
    CHECK(ops(rep, "Trilu") == 1);
    CHECK(ops(rep, "Tanh") == 2);
    const auto& d = rep.at("details");
    CHECK(d.at("outputs").at(0).at("dims").as_string() == "[batch, sequence, 1000]");
    // The tied table is stored once: the largest initializer, and the file holds no more
    // weight bytes than the model has.
    CHECK(d.at("largest_initializers").at(0).at("shape").as_string() == "[1000, 64]");
    CHECK(d.at("largest_initializers").at(1).at("bytes").as_int() < 256000);
    CHECK(d.at("initializers").at("bytes").as_int() <=
          rep.at("original").at("parameter_bytes").as_int() + 4096);
    check_independently((dir.path() / "out/model.onnx").string(), fixture(model),
                        text_inputs(2, 45));
  }
}

TEST_CASE("CNN with conv, batch norm and pooling, scripted and traced: batch norm folded") {
  for (const std::string model : {"cnn_bn.pt", "export_cnn_traced.pt"}) {
    INFO(model);
    llmc::test::TempDir dir;
    const auto rep = run_ok(dir, recipe(model, "example_inputs:\n  - {name: input, shape: [2, 3, 32, 32]}\n",
                                        "  dynamic_axes: {input: [batch]}\n"));
    check_verified(rep);
    CHECK(ops(rep, "Conv") == 2);
    CHECK(ops(rep, "BatchNormalization") == 0);
    CHECK(ops(rep, "MaxPool") == 1);
    CHECK(ops(rep, "GlobalAveragePool") == 1);
    at::manual_seed(3);
    check_independently((dir.path() / "out/model.onnx").string(), fixture(model),
                        {{"input", at::randn({5, 3, 32, 32})}});
  }
}

TEST_CASE("LSTM classifier (2 layers, bidirectional, batch_first), scripted and traced") {
  for (const std::string model : {"export_lstm.pt", "export_lstm_traced.pt"}) {
    INFO(model);
    llmc::test::TempDir dir;
    const auto rep = run_ok(dir, recipe(model,
                                        "example_inputs:\n  - {name: input_ids, shape: [2, 16], "
                                        "dtype: int64, range: [1, 1000]}\n",
                                        "  dynamic_axes: {input_ids: [batch, sequence]}\n"));
    check_verified(rep);
    CHECK(ops(rep, "LSTM") == 2);
    check_independently((dir.path() / "out/model.onnx").string(), fixture(model),
                        text_inputs(4, 9, /*mask=*/false));
  }
}

TEST_CASE("LSTM classifier reading each sequence's last valid step, out[torch.arange(B), last] "
          "(two index tensors), scripted and traced") {
  for (const std::string model : {"export_lstm_last.pt", "export_lstm_last_traced.pt"}) {
    INFO(model);
    llmc::test::TempDir dir;
    const auto rep = run_ok(dir, recipe(model, kTextInputs, kTextAxes));
    check_verified(rep);
    CHECK(ops(rep, "GatherND") == 1);
    // Row 0 is half padding: its last valid step is not the last step.
    check_independently((dir.path() / "out/model.onnx").string(), fixture(model), text_inputs(4, 9));
  }
}

TEST_CASE("a model from llmc quantize (dynamic int8, 8-bit embeddings) exports in integer form") {
  llmc::test::TempDir dir;
  const std::string q =
      "recipe_version: 1\nmodel: " + fixture("bert_tiny_eval.pt") + "\noutput: q\n" + kTextInputs +
      "bench: {warmup: 1, runs: 3}\nquantize: {scheme: dynamic-int8, embeddings: true}\n";
  const auto rq = run_llmc({"quantize", dir.write("q.yaml", q)}, dir.path().string());
  INFO(rq.err);
  REQUIRE(rq.code == 0);
  const std::string quantized = (dir.path() / "q/model.pt").string();
  const std::string e = "recipe_version: 1\nmodel: " + quantized + "\noutput: out\n" + kTextInputs +
                        "bench: {warmup: 1, runs: 3}\nexport_onnx:\n" + kTextAxes;
  const auto rep = run_ok(dir, e);
  CHECK(rep.at("status").as_string() == "passed");
  CHECK(rep.at("gates").at(0).at("name").as_string() == "export_onnx.verify.quantized_tolerance");
  // 12 encoder Linears + pooler + classifier in integer form, the 3 tables as uint8 rows.
  CHECK(ops(rep, "MatMulInteger") == 14);
  CHECK(ops(rep, "DynamicQuantizeLinear") == 14);
  CHECK(rep.at("details").at("largest_initializers").at(0).at("dtype").as_string() == "UINT8");
  // The file is about a quarter of the float one (weights int8/uint8).
  CHECK(rep.at("comparison").at("size_ratio").as_double() < 1.1);
  CHECK(fs::file_size(dir.path() / "out/model.onnx") < 0.4 * fs::file_size(fixture("bert_tiny_eval.pt")));
  check_independently((dir.path() / "out/model.onnx").string(), quantized, text_inputs(3, 19), 0.05);
  // Attention products that quantize made bf16 (its default on AVX512-BF16 CPUs) are exported
  // as float32 MatMuls: ONNX Runtime has no CPU kernel for a bf16 MatMul.
  const bool bf16 = read_json((dir.path() / "q/report.json").string()).at("details").at("activation_matmuls").as_string() == "bf16";
  bool restored = false;
  for (const auto& p : rep.at("details").at("torchscript_passes").as_array()) {
    restored = restored || p.as_string().rfind("activation_matmuls_float32 (4 ", 0) == 0;
  }
  CHECK(restored == bf16);
  CHECK(ops(rep, "MatMul") == 4);
}

TEST_CASE("verify.sizes, opset 13 and external data") {
  llmc::test::TempDir dir;
  const auto rep = run_ok(dir, recipe("bert_tiny_eval.pt", kTextInputs,
                                      std::string(kTextAxes) +
                                          "  opset: 13\n"
                                          "  external_data: always\n"
                                          "  verify: {sizes: {batch: [1, 6], sequence: [5, 64]}}\n"));
  check_verified(rep);
  // Below opset 17 layer norm is the ReduceMean chain.
  CHECK(ops(rep, "LayerNormalization") == 0);
  CHECK(ops(rep, "ReduceMean") == 10);
  const auto& rows = rep.at("details").at("verified_shapes").as_array();
  bool saw_1x5 = false, saw_6x64 = false;
  for (const auto& row : rows) {
    saw_1x5 = saw_1x5 || row.at("inputs").as_string() == "input_ids[1,5] attention_mask[1,5]";
    saw_6x64 = saw_6x64 || row.at("inputs").as_string() == "input_ids[6,64] attention_mask[6,64]";
  }
  CHECK(saw_1x5);
  CHECK(saw_6x64);
  CHECK(fs::exists(dir.path() / "out/model.onnx.data"));
  CHECK(fs::file_size(dir.path() / "out/model.onnx") < 64 * 1024);
  CHECK(rep.at("details").at("external_data").as_string() == "model.onnx.data");
}

TEST_CASE("a gate the numbers miss fails with exit 1, artifacts written; runtime none skips") {
  llmc::test::TempDir dir;
  const auto r = run_llmc({"export-onnx",
                           dir.write("r.yaml", recipe("bert_tiny_eval.pt", kTextInputs,
                                                      std::string(kTextAxes) +
                                                          "  verify: {tolerance: 1.0e-12}\n"))},
                          dir.path().string());
  CHECK(r.code == 1);
  CHECK(r.err.find("export_onnx.verify.tolerance") != std::string::npos);
  CHECK(fs::exists(dir.path() / "out/model.onnx"));

  llmc::test::TempDir dir2;
  const auto rep = run_ok(dir2, recipe("bert_tiny_eval.pt", kTextInputs,
                                       std::string(kTextAxes) + "  verify: {runtime: none}\n"));
  CHECK(rep.at("details").at("verification").at("runtime").as_string() == "none");
  CHECK(rep.at("warnings").size() >= 1);
}

TEST_CASE("bad inputs: a clear error, the documented exit code, no output directory") {
  struct Case {
    std::string model, inputs, section;
    int code;
    std::vector<std::string> says;
  };
  const std::string x = "example_inputs:\n  - {name: x, shape: [2, 8]}\n";
  const std::vector<Case> cases = {
      {"export_unsupported.pt", x, "  dynamic_axes: {x: [batch]}\n", 3,
       {"aten::cumprod", "aten::flip", "2 operators", "code/__torch__.py:"}},
      {"export_data_if.pt", x, "  dynamic_axes: {x: [batch]}\n", 3,
       {"data-dependent control flow", "torch.sum"}},
      {"export_traced_data_if.pt", x, "  dynamic_axes: {x: [batch]}\n", 3,
       {"data-dependent control flow"}},
      {"export_baked_shape.pt", x, "  dynamic_axes: {x: [batch]}\n", 3,
       {"aten::reshape", "baked in"}},
      {"bert_tiny_traced.pt", kTextInputs, kTextAxes, 3, {"traced in training mode"}},
      {"bert_tiny_eval.pt", kTextInputs, std::string(kTextAxes) + "  opset: 18\n", 2,
       {"export_onnx.opset", "[13, 17]"}},
      {"bert_tiny_eval.pt", kTextInputs, "  dynamic_axes: {input_idz: [batch]}\n", 2,
       {"input_idz", "input_ids"}},
      {"bert_tiny_eval.pt", kTextInputs,
       std::string(kTextAxes) + "  verify: {sizes: {batc: [2]}}\n", 2, {"batc"}},
  };
  for (const auto& c : cases) {
    INFO(c.model << "\n" << c.section);
    llmc::test::TempDir dir;
    const auto r = run_llmc({"export-onnx", dir.write("r.yaml", recipe(c.model, c.inputs, c.section))},
                            dir.path().string());
    INFO(r.err);
    CHECK(r.code == c.code);
    for (const auto& s : c.says) CHECK(r.err.find(s) != std::string::npos);
    CHECK_FALSE(fs::exists(dir.path() / "out"));
  }
}

TEST_CASE("docs/export-onnx.md lists every operator the registry lowers") {
  const std::string doc = llmc::test::read_text(llmc::test::source_root() + "/docs/export-onnx.md");
  const auto kinds = llmc::onnx::registry().kinds();
  CHECK(kinds.size() > 150);
  for (const auto& k : kinds) {
    INFO(k);
    const bool listed = doc.find(k + ",") != std::string::npos || doc.find(k + " ") != std::string::npos;
    CHECK(listed);
  }
}
