// `llmc quantize` end to end: dynamic int8 Linear layers, globs, engines, bad inputs.
#include <cstdlib>
#include <filesystem>
#include <set>

#include "torch_doctest.h"

#include "cli.h"
#include "test_support.h"
#include "llmc/quantize/cpu_policy.h"
#include "llmc/util/cpu_features.h"
#include "llmc/util/onednn.h"

using llmc::test::fixture;
using llmc::test::read_json;
using llmc::test::run_llmc;
namespace fs = std::filesystem;

namespace {

std::string quant_recipe(const std::string& section) {
  return "recipe_version: 1\nmodel: " + fixture("bert_tiny_eval.pt") +
         "\noutput: out\n"
         "example_inputs:\n"
         "  - {name: input_ids, shape: [8, 32], dtype: int64, range: [0, 1000]}\n"
         "  - {name: attention_mask, shape: [8, 32], dtype: int64, fill: 1}\n"
         "bench: {warmup: 1, runs: 3}\n"
         // An untrained model's logits are near ties (|logit| ~ 0.03), so an argmax may flip
         // under int8 rounding: gate on cosine, and on labels loosely.
         "gates: {min_label_agreement: 0.75, min_cosine: 0.99, max_size_ratio: 0.8}\n" +
         section;
}

int count_ops(const torch::jit::Module& m, const std::string& kind) {
  int n = 0;
  for (const auto* node : m.get_method("forward").graph()->nodes()) {
    if (node->kind().toQualString() == kind) ++n;
  }
  return n;
}

}  // namespace

TEST_CASE("dynamic-int8: Linear layers become quantized::linear_dynamic, the classifier kept") {
  llmc::test::TempDir dir;
  const auto recipe =
      dir.write("r.yaml", quant_recipe("quantize: {scheme: dynamic-int8, exclude: [classifier]}\n"));
  const auto r = run_llmc({"quantize", recipe}, dir.path().string());
  INFO(r.err);
  REQUIRE(r.code == 0);
  // The artifact is plain TorchScript that LibTorch loads and runs without llmc.
  auto q = torch::jit::load((dir.path() / "out/model.pt").string());
  // 2 layers x (q, k, v, attention output, intermediate, output) + pooler = 13; classifier fp32.
  CHECK(count_ops(q, "quantized::linear_dynamic") == 13);
  CHECK(count_ops(q, "aten::linear") == 1);
  CHECK(count_ops(q, "aten::dropout") == 0);
  torch::NoGradGuard no_grad;
  const auto ids = torch::randint(0, 1000, {4, 16}, torch::kLong);
  const auto mask = torch::ones({4, 16}, torch::kLong);
  auto fp32 = torch::jit::load(fixture("bert_tiny_eval.pt"));
  const auto a = fp32.forward({ids, mask}).toTensor();
  const auto b = q.forward({ids, mask}).toTensor();
  CHECK((a - b).abs().max().item<double>() < 0.05);

  const auto report = read_json((dir.path() / "out/report.json").string());
  CHECK(report.at("command").as_string() == "quantize");
  CHECK(report.at("status").as_string() == "passed");
  const auto& d = report.at("details");
  CHECK(d.at("engine").as_string() == "onednn");
  CHECK(d.at("layers_total").as_int() == 14);
  CHECK(d.at("layers_selected").as_int() == 13);
  CHECK(d.at("quantized_linear_ops").as_int() == 13);
  bool classifier_listed_fp32 = false;
  for (const auto& l : d.at("layers").as_array()) {
    if (l.at("layer").as_string() == "classifier") {
      classifier_listed_fp32 = l.at("quantized").as_string() == "kept fp32";
    }
  }
  CHECK(classifier_listed_fp32);
  CHECK(report.at("comparison").at("size_ratio").as_double() < 0.8);
  // The attention rewrites ran before quantizing: the scale division is gone from the graph.
  CHECK(d.at("attention_rewrites").at("scale_folded").size() == 2);
  CHECK(count_ops(q, "aten::div") == 0);
  // With optimize_attention: false the division stays.
  const auto plain = run_llmc({"quantize", recipe, "--out", "plain", "--set", "quantize.optimize_attention=false"},
                              dir.path().string());
  REQUIRE(plain.code == 0);
  CHECK(count_ops(torch::jit::load((dir.path() / "plain/model.pt").string()), "aten::div") == 2);
  CHECK(!read_json((dir.path() / "plain/report.json").string()).at("details").contains("attention_rewrites"));

  // activation_range: auto picks 8 bits with onednn on a VNNI CPU; reduced and full are explicit.
  auto reduce_range_flags = [&](const std::string& out) {
    std::set<bool> flags;
    const auto m = torch::jit::load((dir.path() / out / "model.pt").string());
    const auto graph = m.get_method("forward").graph();
    for (const auto* node : graph->nodes()) {
      if (node->kind().toQualString() == std::string("quantized::linear_dynamic")) {
        flags.insert(torch::jit::toIValue(node->input(2))->toBool());
      }
    }
    return flags;
  };
  // What the CPU policy decides for this machine at the ISA oneDNN reported in the run.
  const bool vnni = llmc::quantize::decide_activation_range(
                        llmc::util::cpu_features(),
                        *llmc::util::parse_onednn_isa(d.at("onednn_isa").as_string()), {})
                        .full;
  CHECK(reduce_range_flags("out") == std::set<bool>{!vnni});
  CHECK(d.at("activation_range").as_string() == (vnni ? "full (8 bits)" : "reduced (7 bits)"));
  for (const std::string range : {"reduced", "full"}) {
    const auto rr = run_llmc({"quantize", recipe, "--out", range, "--set", "quantize.activation_range=" + range},
                             dir.path().string());
    REQUIRE(rr.code == 0);
    CHECK(reduce_range_flags(range) == std::set<bool>{range == "reduced"});
  }
  const auto bad = run_llmc({"quantize", recipe, "--out", "bad", "--set", "quantize.scheme=bf16",
                             "--set", "quantize.activation_range=full", "--set", "quantize.exclude=[]"},
                            dir.path().string());
  CHECK(bad.code == 2);
  CHECK(bad.err.find("quantize.activation_range") != std::string::npos);
}

TEST_CASE("include globs select layers; qnnpack works; unknown engines and empty selections fail") {
  llmc::test::TempDir dir;
  const auto recipe = dir.write("r.yaml", quant_recipe("quantize:\n  include: [\"*.intermediate.dense\", \"*.output.dense\"]\n"));
  SUBCASE("globs") {
    const auto r = run_llmc({"quantize", recipe, "--set", "gates.max_size_ratio=1.0"},
                            dir.path().string());
    INFO(r.err);
    REQUIRE(r.code == 0);
    // intermediate.dense, output.dense and attention.output.dense in each of 2 layers.
    CHECK(read_json((dir.path() / "out/report.json").string())
              .at("details").at("quantized_linear_ops").as_int() == 6);
  }
  SUBCASE("qnnpack") {
    const auto r = run_llmc({"quantize", recipe, "--set", "quantize.engine=qnnpack", "--set",
                             "gates.max_size_ratio=1.0"},
                            dir.path().string());
    INFO(r.err);
    CHECK(r.code == 0);
  }
  SUBCASE("an engine this LibTorch does not have is a recipe error before loading") {
    const auto r = run_llmc({"quantize", recipe, "--set", "quantize.engine=fbgemm"},
                            dir.path().string());
    CHECK(r.code == 2);
    CHECK(r.err.find("quantize.engine: engine fbgemm is not available in this LibTorch build") !=
          std::string::npos);
    CHECK(r.err.find("llmc: loading") == std::string::npos);
  }
  SUBCASE("globs that select nothing are named") {
    const auto r = run_llmc({"quantize", recipe, "--set", "quantize.include=[decoder.*]"},
                            dir.path().string());
    CHECK(r.code == 2);
    CHECK(r.err.find("include decoder.* minus exclude (nothing) selects none of the model's 14 "
                     "Linear layers") != std::string::npos);
    CHECK_FALSE(fs::exists(dir.path() / "out"));
  }
  SUBCASE("a scheme this llmc does not know") {
    const auto r = run_llmc({"quantize", recipe, "--set", "quantize.scheme=int3"},
                            dir.path().string());
    CHECK(r.code == 2);
    CHECK(r.err.find("quantize.scheme: expected one of dynamic-int8") != std::string::npos);
  }
}

TEST_CASE("embeddings: true stores the tables as 8-bit rows; the file shrinks and still loads") {
  llmc::test::TempDir dir;
  const auto recipe = dir.write(
      "r.yaml", quant_recipe("quantize: {exclude: [classifier], embeddings: true}\n"));
  const auto r = run_llmc({"quantize", recipe, "--set", "gates.max_size_ratio=0.35"},
                          dir.path().string());
  INFO(r.err);
  REQUIRE(r.code == 0);
  auto q = torch::jit::load((dir.path() / "out/model.pt").string());
  CHECK(count_ops(q, "aten::embedding") == 0);
  // Per table: uint8 rows, scales and biases gathered by index.
  CHECK(count_ops(q, "aten::index_select") == 9);
  int uint8_tables = 0;
  for (const auto* node : q.get_method("forward").graph()->nodes()) {
    if (node->kind() != c10::prim::Constant) continue;
    const auto v = torch::jit::toIValue(node->output());
    if (v && v->isTensor() && v->toTensor().scalar_type() == at::kByte) ++uint8_tables;
  }
  CHECK(uint8_tables == 3);
  torch::NoGradGuard no_grad;
  // Other shapes than the ones measured: the rewrite keeps the batch and sequence dynamic.
  const auto ids = torch::randint(0, 1000, {3, 21}, torch::kLong);
  const auto mask = torch::ones({3, 21}, torch::kLong);
  auto fp32 = torch::jit::load(fixture("bert_tiny_eval.pt"));
  const auto a = fp32.forward({ids, mask}).toTensor();
  const auto b = q.forward({ids, mask}).toTensor();
  CHECK(a.sizes() == b.sizes());
  CHECK((a - b).abs().max().item<double>() < 0.05);
  const auto report = read_json((dir.path() / "out/report.json").string());
  const auto& tables = report.at("details").at("embeddings").as_array();
  REQUIRE(tables.size() == 3);
  CHECK(tables.at(0).at("embedding").as_string() == "bert.embeddings.word_embeddings");
  CHECK(tables.at(0).at("shape").as_string() == "1000x64");
  CHECK(tables.at(0).at("bytes_before").as_int() == 1000 * 64 * 4);
  CHECK(tables.at(0).at("bytes_after").as_int() == 1000 * (64 + 8));
}

TEST_CASE("activation_matmuls: bf16 computes the attention products in bfloat16") {
  llmc::test::TempDir dir;
  const auto recipe = dir.write(
      "r.yaml", quant_recipe("quantize: {scheme: dynamic-int8, activation_matmuls: bf16}\n"));
  // Each SUBCASE re-runs what is outside them: the main job is a subcase of its own.
  SUBCASE("explicit bf16: both operands cast, close to float32") {
    const auto r = run_llmc({"quantize", recipe}, dir.path().string());
    INFO(r.err);
    REQUIRE(r.code == 0);
    auto q = torch::jit::load((dir.path() / "out/model.pt").string());
    // 2 layers x (Q·Kᵀ, P·V), each now fed bf16 operands.
    int bf16_products = 0;
    for (const auto* node : q.get_method("forward").graph()->nodes()) {
      if (node->kind() != c10::aten::matmul) continue;
      // Kᵀ is cast before its transpose, which stays a view.
      bool both_cast = true;
      for (const auto* in : node->inputs()) {
        const auto* n = in->node();
        if (n->kind() == c10::aten::transpose) n = n->input(0)->node();
        both_cast = both_cast && n->kind() == c10::aten::to;
      }
      bf16_products += both_cast ? 1 : 0;
    }
    CHECK(bf16_products == 4);
    torch::NoGradGuard no_grad;
    const auto ids = torch::randint(0, 1000, {4, 16}, torch::kLong);
    const auto mask = torch::ones({4, 16}, torch::kLong);
    auto fp32 = torch::jit::load(fixture("bert_tiny_eval.pt"));
    const auto b = q.forward({ids, mask}).toTensor();
    CHECK((b.scalar_type() == torch::kFloat));
    CHECK((fp32.forward({ids, mask}).toTensor() - b).abs().max().item<double>() < 0.05);
    const auto details = read_json((dir.path() / "out/report.json").string()).at("details");
    CHECK(details.at("activation_matmuls").as_string() == "bf16");
    CHECK(details.at("activation_matmuls_bf16").as_int() == 4);
  }

  SUBCASE("auto, the default, is bf16 where the CPU has AVX512-BF16 and oneDNN is not capped "
          "below its AMX; fp32 opts out") {
    const auto rd = run_llmc({"quantize", recipe, "--out", "auto", "--set", "quantize.activation_matmuls=auto"},
                             dir.path().string());
    REQUIRE(rd.code == 0);
    const auto da = read_json((dir.path() / "auto/report.json").string()).at("details");
    const bool avx512_bf16 = llmc::quantize::decide_activation_matmuls(
                                 llmc::util::cpu_features(),
                                 *llmc::util::parse_onednn_isa(da.at("onednn_isa").as_string()), {})
                                 .bf16;
    CHECK(da.at("activation_matmuls").as_string() == (avx512_bf16 ? "bf16" : "fp32"));
    const auto rf = run_llmc({"quantize", recipe, "--out", "fp32", "--set", "quantize.activation_matmuls=fp32"},
                             dir.path().string());
    REQUIRE(rf.code == 0);
    CHECK(read_json((dir.path() / "fp32/report.json").string()).at("details").at("activation_matmuls").as_string() == "fp32");
    // Per bf16 product: two casts in, one back (the model has one cast of its own, the mask's).
    CHECK(count_ops(torch::jit::load((dir.path() / "auto/model.pt").string()), "aten::to") -
              count_ops(torch::jit::load((dir.path() / "fp32/model.pt").string()), "aten::to") ==
          (avx512_bf16 ? 12 : 0));
  }
  SUBCASE("with the bf16 scheme it is a recipe error") {
    const auto bad = run_llmc({"quantize", recipe, "--out", "o2", "--set", "quantize.scheme=bf16"},
                              dir.path().string());
    CHECK(bad.code == 2);
    CHECK(bad.err.find("quantize.activation_matmuls") != std::string::npos);
    CHECK(!fs::exists(dir.path() / "o2"));
  }
  SUBCASE("a model without activation products names the key") {
    const auto cnn = dir.write("c.yaml", "recipe_version: 1\nmodel: " + fixture("cnn_bn.pt") +
                                             "\noutput: cnn\nexample_inputs: [{name: input, "
                                             "shape: [2, 3, 32, 32]}]\nbench: {runs: 2}\n"
                                             "quantize: {scheme: dynamic-int8, "
                                             "activation_matmuls: bf16}\n");
    const auto rc = run_llmc({"quantize", cnn}, dir.path().string());
    CHECK(rc.code == 2);
    CHECK(rc.err.find("no matmul of two activations") != std::string::npos);
    CHECK(!fs::exists(dir.path() / "cnn" / "model.pt"));
    // auto (the default) on the same model is simply fp32.
    const auto ra = run_llmc({"quantize", cnn, "--out", "cnn-auto", "--set", "quantize.activation_matmuls=auto"},
                             dir.path().string());
    CHECK(ra.code == 0);
    CHECK(read_json((dir.path() / "cnn-auto/report.json").string()).at("details").at("activation_matmuls").as_string() == "fp32");
  }
}

TEST_CASE("bf16: weights in bfloat16, float32 in and out, a drop-in replacement") {
  llmc::test::TempDir dir;
  const auto recipe = dir.write("r.yaml", quant_recipe("quantize: {scheme: bf16}\n"));
  const auto r = run_llmc({"quantize", recipe, "--set", "gates.max_size_ratio=0.6"},
                          dir.path().string());
  INFO(r.err);
  REQUIRE(r.code == 0);
  auto q = torch::jit::load((dir.path() / "out/model.pt").string());
  torch::NoGradGuard no_grad;
  const auto ids = torch::randint(0, 1000, {2, 12}, torch::kLong);
  const auto mask = torch::ones({2, 12}, torch::kLong);
  const auto b = q.forward({ids, mask}).toTensor();
  CHECK((b.scalar_type() == torch::kFloat));
  auto fp32 = torch::jit::load(fixture("bert_tiny_eval.pt"));
  CHECK((fp32.forward({ids, mask}).toTensor() - b).abs().max().item<double>() < 0.01);
  const auto details = read_json((dir.path() / "out/report.json").string()).at("details");
  CHECK(details.at("scheme").as_string() == "bf16");
  CHECK(details.at("weight_bytes_after").as_int() * 2 == details.at("weight_bytes_before").as_int());
  CHECK(details.at("outputs_cast_to_fp32").as_int() == 1);
  CHECK(details.at("inputs_cast_to_bf16").as_int() == 0);  // token ids stay int64
  // Every layer_norm of the artifact normalizes a float32 cast of its bf16 input.
  int norms = 0;
  for (const auto* node : q.get_method("forward").graph()->nodes()) {
    if (node->kind() != c10::aten::layer_norm) continue;
    ++norms;
    CHECK(node->input(0)->node()->kind() == c10::aten::to);
  }
  CHECK(norms > 0);
  CHECK(details.at("layer_norms_fp32").as_int() == norms);

  // A model with a float input: the input is cast to bf16 inside the graph.
  const auto cnn = dir.write("c.yaml", "recipe_version: 1\nmodel: " + fixture("cnn_bn.pt") +
                                           "\noutput: cnn\nexample_inputs: [{name: input, shape: "
                                           "[2, 3, 32, 32]}]\nbench: {runs: 2}\nquantize: {scheme: "
                                           "bf16}\n");
  const auto rc = run_llmc({"quantize", cnn, "--json"}, dir.path().string());
  INFO(rc.err);
  REQUIRE(rc.code == 0);
  CHECK(llmc::util::parse_json(rc.out).at("details").at("inputs_cast_to_bf16").as_int() == 1);

  const auto bad = run_llmc({"quantize", recipe, "--out", "o3", "--set", "quantize.exclude=[classifier]"},
                            dir.path().string());
  CHECK(bad.code == 2);
  CHECK(bad.err.find("bf16 and fp16 cast the whole model") != std::string::npos);
}

TEST_CASE("bf16 on a causal LM whose forward builds a float32 mask") {
  // lm_teacher adds a float32 causal mask to bf16 scores: the attention product after it would
  // mix float32 and bf16 without pass lowp_compute_inputs.
  llmc::test::TempDir dir;
  const auto recipe = dir.write(
      "lm.yaml", "recipe_version: 1\nmodel: " + fixture("lm_teacher.pt") +
                     "\noutput: out\nexample_inputs:\n"
                     "  - {name: input_ids, shape: [4, 24], dtype: int64, range: [0, 1000]}\n"
                     "  - {name: attention_mask, shape: [4, 24], dtype: int64, fill: 1}\n"
                     "bench: {warmup: 1, runs: 2}\ngates: {min_cosine: 0.999}\n"
                     "quantize: {scheme: bf16}\n");
  const auto r = run_llmc({"quantize", recipe, "--json"}, dir.path().string());
  INFO(r.err);
  REQUIRE(r.code == 0);
  const auto details = llmc::util::parse_json(r.out).at("details");
  CHECK(details.at("product_operands_cast").as_int() > 0);
  CHECK(details.at("layer_norms_fp32").as_int() > 0);
  auto q = torch::jit::load((dir.path() / "out/model.pt").string());
  torch::NoGradGuard no_grad;
  const auto ids = torch::randint(0, 1000, {2, 17}, torch::kLong);
  const auto mask = torch::ones({2, 17}, torch::kLong);
  const auto out = q.forward({ids, mask}).toTensor();
  CHECK((out.scalar_type() == torch::kFloat));
  auto fp32 = torch::jit::load(fixture("lm_teacher.pt"));
  fp32.eval();
  const auto ref = fp32.forward({ids, mask}).toTensor();
  CHECK(((out - ref).norm() / ref.norm()).item<double>() < 0.02);
}

TEST_CASE("dynamic-int8 quantizes LSTMs (scripted and traced) to aten::quantized_lstm") {
  llmc::test::TempDir dir;
  const auto recipe = [&](const std::string& model, const std::string& section) {
    return dir.write("r.yaml", "recipe_version: 1\nmodel: " + fixture(model) +
                                   "\noutput: out\nexample_inputs:\n"
                                   "  - {name: input_ids, shape: [8, 20], dtype: int64, range: [0, 1000]}\n"
                                   "bench: {warmup: 1, runs: 2}\ngates: {min_cosine: 0.99}\n" + section);
  };
  // Each SUBCASE re-runs what is outside them: the test keeps everything inside one.
  SUBCASE("scripted and traced") {
    for (const std::string model : {"export_lstm.pt", "export_lstm_traced.pt"}) {
      CAPTURE(model);
      const auto r = run_llmc({"quantize", recipe(model, "quantize: {scheme: dynamic-int8}\n"),
                               "--out", "q", "--force", "--json"},
                              dir.path().string());
      INFO(r.err);
      REQUIRE(r.code == 0);
      const auto rep = llmc::util::parse_json(r.out);
      const auto& d = rep.at("details");
      CHECK(d.at("quantized_lstms").as_int() == 1);
      CHECK(d.at("quantized_linear_ops").as_int() == 1);  // the classifier
      const auto& lstm = d.at("lstms").at(0);
      CHECK(lstm.at("lstm").as_string() == "lstm");
      CHECK(lstm.at("hidden_size").as_int() == 24);
      CHECK(lstm.at("layers").as_int() == 2);
      CHECK(lstm.at("bidirectional").as_bool());
      CHECK(rep.at("warnings").as_array().empty());
      CHECK(rep.at("comparison").at("size_ratio").as_double() < 0.75);
      auto q = torch::jit::load((dir.path() / "q/model.pt").string());
      CHECK(count_ops(q, "aten::quantized_lstm") == 1);
      CHECK(count_ops(q, "aten::lstm") == 0);
      // Plain LibTorch runs it for another batch and sequence length, close to float32.
      torch::NoGradGuard no_grad;
      const auto ids = torch::randint(0, 1000, {3, 11}, torch::kLong);
      const auto out = q.forward({ids}).toTensor();
      auto fp32 = torch::jit::load(fixture(model));
      fp32.eval();
      const auto ref = fp32.forward({ids}).toTensor();
      CHECK(out.sizes().equals(ref.sizes()));
      CHECK((out - ref).abs().max().item<double>() < 0.01);
    }
  }
  SUBCASE("per-channel weights, and the qnnpack engine") {
    for (const std::string set : {"quantize.per_channel=true", "quantize.engine=qnnpack"}) {
      CAPTURE(set);
      const auto r = run_llmc({"quantize", recipe("export_lstm.pt", "quantize: {scheme: dynamic-int8}\n"),
                               "--out", "o3", "--force", "--json", "--set", set},
                              dir.path().string());
      INFO(r.err);
      REQUIRE(r.code == 0);
      const auto rep = llmc::util::parse_json(r.out);
      CHECK(rep.at("details").at("quantized_lstms").as_int() == 1);
      CHECK(rep.at("agreement").at("cosine").as_double() > 0.999);
    }
  }
  SUBCASE("only the LSTM, or all but it") {
    const auto only = run_llmc({"quantize", recipe("export_lstm.pt", "quantize: {include: [lstm]}\n"),
                                "--out", "o1", "--json"},
                               dir.path().string());
    INFO(only.err);
    REQUIRE(only.code == 0);
    const auto d1 = llmc::util::parse_json(only.out).at("details");
    CHECK(d1.at("quantized_lstms").as_int() == 1);
    CHECK(d1.at("quantized_linear_ops").as_int() == 0);
    const auto rest = run_llmc({"quantize", recipe("export_lstm.pt", "quantize: {exclude: [lstm]}\n"),
                                "--out", "o2", "--json"},
                               dir.path().string());
    REQUIRE(rest.code == 0);
    const auto d2 = llmc::util::parse_json(rest.out).at("details");
    CHECK(d2.at("quantized_lstms").as_int() == 0);
    CHECK(d2.at("layers").at(1).at("quantized").as_string() == "kept fp32");
    CHECK(count_ops(torch::jit::load((dir.path() / "o2/model.pt").string()), "aten::lstm") == 1);
  }
}

TEST_CASE("fp16: half the weight bytes on disk, float32 compute, same outputs to fp16 precision") {
  llmc::test::TempDir dir;
  const auto recipe = dir.write("r.yaml", quant_recipe("quantize: {scheme: fp16}\n"));
  const auto r = run_llmc({"quantize", recipe, "--set", "gates.max_size_ratio=0.6", "--set",
                           "gates.max_abs_diff=0.001"},
                          dir.path().string());
  INFO(r.err);
  REQUIRE(r.code == 0);
  const auto d = read_json((dir.path() / "out/report.json").string()).at("details");
  CHECK(d.at("scheme").as_string() == "fp16");
  CHECK(d.at("tensors_stored_fp16").as_int() >= 20);
  CHECK(d.at("weight_bytes_after").as_int() * 2 == d.at("weight_bytes_before").as_int());
  auto q = torch::jit::load((dir.path() / "out/model.pt").string());
  torch::NoGradGuard no_grad;
  const auto out = q.forward({torch::randint(0, 1000, {2, 9}, torch::kLong),
                              torch::ones({2, 9}, torch::kLong)}).toTensor();
  CHECK((out.scalar_type() == torch::kFloat));
  // No float32 weight is left in the file's graph: each is a float16 constant and a cast.
  int float32_constants = 0;
  for (const auto* node : q.get_method("forward").graph()->nodes()) {
    if (node->kind() != c10::prim::Constant) continue;
    const auto v = torch::jit::toIValue(node->output());
    if (v && v->isTensor() && v->toTensor().scalar_type() == torch::kFloat &&
        v->toTensor().numel() > 1) {
      ++float32_constants;
    }
  }
  CHECK(float32_constants == 0);
}

namespace {

// A JSONL file of CNN inputs [3, 32, 32]; `poison` puts a value that overflows float32 in the
// first sample.
std::string image_jsonl(const llmc::test::TempDir& dir, int samples, bool poison) {
  std::string text;
  unsigned seed = 7;
  for (int s = 0; s < samples; ++s) {
    std::string img = "[";
    for (int c = 0; c < 3; ++c) {
      img += c ? ",[" : "[";
      for (int y = 0; y < 32; ++y) {
        img += y ? ",[" : "[";
        for (int x = 0; x < 32; ++x) {
          seed = seed * 1103515245u + 12345u;
          const double v = poison && s == 0 && c == 0 && y == 0 && x == 0
                               ? 1e39
                               : static_cast<double>((seed >> 16) % 2000) / 1000.0 - 1.0;
          img += (x ? "," : "") + std::to_string(v);
        }
        img += "]";
      }
      img += "]";
    }
    text += "{\"input\": " + img + "]}\n";
  }
  return dir.write(poison ? "poison.jsonl" : "images.jsonl", text);
}

}  // namespace

TEST_CASE("static-int8: calibrated on data, conv + batch-norm folded, quantized convolutions") {
  llmc::test::TempDir dir;
  image_jsonl(dir, 24, false);
  const auto recipe = dir.write(
      "r.yaml", "recipe_version: 1\nmodel: " + fixture("cnn_bn.pt") +
                    "\noutput: out\ndata: {path: images.jsonl, batch_size: 8}\nbench: {runs: 3}\n"
                    "gates: {min_cosine: 0.99, min_label_agreement: 0.9, max_size_ratio: 0.5}\n"
                    "quantize: {scheme: static-int8, calibration_batches: 2}\n");
  // Each SUBCASE re-runs what is outside them: the main job is a subcase of its own.
  SUBCASE("calibrated on the recipe's data") {
    const auto r = run_llmc({"quantize", recipe}, dir.path().string());
    INFO(r.err);
    REQUIRE(r.code == 0);
    const auto report = read_json((dir.path() / "out/report.json").string());
    const auto& d = report.at("details");
    CHECK(d.at("scheme").as_string() == "static-int8");
    CHECK(d.at("calibration_batches").as_int() == 2);
    CHECK(d.at("calibration_rows").as_int() == 16);
    CHECK(d.at("quantized_ops").at("quantized::conv2d_relu").as_int() == 2);
    CHECK(d.at("quantized_ops").at("quantized::linear").as_int() == 1);
    CHECK(report.at("warnings").at(0).as_string().find("calibrated on the first 2 batches") !=
          std::string::npos);
    CHECK(fs::path(d.at("calibration_source").as_string()).filename() == "images.jsonl");
    auto q = torch::jit::load((dir.path() / "out/model.pt").string());
    CHECK(count_ops(q, "aten::batch_norm") == 0);

    SUBCASE("per-channel weights and a percentile observer change the result") {
      const auto pc = run_llmc({"quantize", recipe, "--out", "pc", "--set", "quantize.per_channel=true",
                                "--set", "quantize.observer=percentile", "--set",
                                "quantize.percentile=99.9"},
                               dir.path().string());
      INFO(pc.err);
      REQUIRE(pc.code == 0);
      const auto other = read_json((dir.path() / "pc/report.json").string());
      CHECK(other.at("details").at("per_channel").as_bool());
      CHECK(other.at("details").at("observer").as_string() == "percentile 99.9");
      CHECK(other.at("agreement").at("max_abs_diff").as_double() !=
            report.at("agreement").at("max_abs_diff").as_double());
      CHECK(other.at("agreement").at("cosine").as_double() > 0.99);
    }
  }
  SUBCASE("no data to calibrate on is a recipe error") {
    const auto no_data = dir.write(
        "n.yaml", "recipe_version: 1\nmodel: " + fixture("cnn_bn.pt") +
                      "\noutput: o2\nexample_inputs: [{name: input, shape: [2, 3, 32, 32]}]\n"
                      "quantize: {scheme: static-int8}\n");
    const auto e = run_llmc({"quantize", no_data}, dir.path().string());
    CHECK(e.code == 2);
    CHECK(e.err.find("quantize.scheme: static-int8 calibrates activation ranges on real inputs") !=
          std::string::npos);
  }
  SUBCASE("calibration data that does not fit forward's signature names file, line and field") {
    dir.write("wrong.jsonl", "{\"pixels\": [1, 2, 3]}\n");
    const auto e = run_llmc({"quantize", recipe, "--out", "o4", "--set", "data.path=wrong.jsonl"},
                            dir.path().string());
    CHECK(e.code == 3);
    CHECK(e.err.find("wrong.jsonl:1: missing field \"input\" (for forward argument \"input\")") !=
          std::string::npos);
    CHECK_FALSE(fs::exists(dir.path() / "o4"));
  }
  SUBCASE("calibration_data: calibrated on other samples (2 batches of 16), and no warning") {
    // 24 other images (the same generator, a different count, so other values for the first 16).
    llmc::test::TempDir other;
    const auto calib = image_jsonl(other, 40, false);
    const auto rc = run_llmc({"quantize", recipe, "--out", "cd", "--json", "--set",
                              "quantize.calibration_data={path: " + calib + ", batch_size: 16}"},
                             dir.path().string());
    INFO(rc.err);
    REQUIRE(rc.code == 0);
    const auto rep = llmc::util::parse_json(rc.out);
    CHECK(rep.at("details").at("calibration_source").as_string() == calib);
    CHECK(rep.at("details").at("calibration_rows").as_int() == 32);
    CHECK(rep.at("warnings").as_array().empty());
  }
  SUBCASE("Inf in calibration is an input error and writes nothing") {
    image_jsonl(dir, 8, true);
    const auto e = run_llmc({"quantize", recipe, "--out", "o3", "--set", "data.path=poison.jsonl"},
                            dir.path().string());
    CHECK(e.code == 3);
    CHECK(e.err.find("NaN or Inf") != std::string::npos);
    CHECK_FALSE(fs::exists(dir.path() / "o3"));
  }
}

TEST_CASE("quantize.calibration_data: a recipe error outside static-int8, and a missing file names the key") {
  llmc::test::TempDir dir;
  image_jsonl(dir, 8, false);
  const auto recipe = dir.write(
      "r.yaml", "recipe_version: 1\nmodel: " + fixture("cnn_bn.pt") +
                    "\noutput: out\ndata: {path: images.jsonl, batch_size: 8}\nbench: {runs: 2}\n"
                    "quantize: {scheme: static-int8, calibration_batches: 1}\n");
  const auto e = run_llmc({"quantize", recipe, "--out", "o5", "--set", "quantize.scheme=dynamic-int8",
                           "--set", "quantize.calibration_data={path: images.jsonl}"},
                          dir.path().string());
  CHECK(e.code == 2);
  CHECK(e.err.find("quantize.calibration_data: calibration_data applies to static-int8") !=
        std::string::npos);
  const auto m = run_llmc({"quantize", recipe, "--out", "o6", "--set",
                           "quantize.calibration_data={path: missing.jsonl}"},
                          dir.path().string());
  CHECK(m.code == 2);
  CHECK(m.err.find("quantize.calibration_data.path: file not found") != std::string::npos);
  CHECK_FALSE(fs::exists(dir.path() / "o5"));
  CHECK_FALSE(fs::exists(dir.path() / "o6"));
}

TEST_CASE("onednn_isa: auto caps oneDNN for dynamic-int8 on AMX CPUs; explicit caps and the "
          "environment are honoured") {
  llmc::test::TempDir dir;
  const auto recipe = dir.write("r.yaml", quant_recipe("quantize: {scheme: dynamic-int8}\n"));
  const auto details_of = [&](const std::string& out) {
    return read_json((dir.path() / out / "report.json").string()).at("details");
  };
  const bool amx_int8 = llmc::util::cpu_features().amx_int8;
  const auto ra = run_llmc({"quantize", recipe, "--out", "auto"}, dir.path().string());
  INFO(ra.err);
  REQUIRE(ra.code == 0);
  const auto da = details_of("auto");
  CHECK(da.at("onednn_isa_cap").as_string() == (amx_int8 ? "avx512_core_bf16" : "none"));
  CHECK(da.contains("deploy_env") == amx_int8);
  if (amx_int8) {
    CHECK(da.at("onednn_isa").as_string() == "avx512_core_bf16");
    CHECK(da.at("deploy_env").as_string() == "ONEDNN_MAX_CPU_ISA=AVX512_CORE_BF16");
  }

  // An explicit cap is applied whatever the CPU (the memory probes inherit it through
  // ONEDNN_MAX_CPU_ISA; not checked here).
  const auto rc = run_llmc({"quantize", recipe, "--out", "avx2", "--set", "quantize.onednn_isa=avx2"},
                           dir.path().string());
  INFO(rc.err);
  REQUIRE(rc.code == 0);
  const auto dc = details_of("avx2");
  CHECK(dc.at("onednn_isa").as_string() == "avx2");
  CHECK(dc.at("onednn_isa_cap").as_string() == "avx2");
  CHECK(dc.at("deploy_env").as_string() == "ONEDNN_MAX_CPU_ISA=AVX2");
  // auto keeps the attention products float32 under a cap where oneDNN has no bf16 (on AMD Zen 4
  // this combination once failed with "could not create a primitive descriptor iterator").
  CHECK(dc.at("activation_matmuls").as_string() == "fp32");
  // An explicit bf16 there is refused before any work on AVX-512 CPUs (LibTorch sends bf16
  // products to oneDNN on them); elsewhere LibTorch computes them itself.
  const auto rx = run_llmc({"quantize", recipe, "--out", "avx2-bf16", "--set", "quantize.onednn_isa=avx2",
                            "--set", "quantize.activation_matmuls=bf16"},
                           dir.path().string());
  if (llmc::util::cpu_features().avx512_core()) {
    CHECK(rx.code == 2);
    CHECK(rx.err.find("quantize.activation_matmuls: activation_matmuls: bf16 cannot run here") !=
          std::string::npos);
    CHECK_FALSE(fs::exists(dir.path() / "avx2-bf16"));
  } else {
    CHECK(rx.code == 0);
  }

  // `all` lifts the cap; static-int8 and bf16 are never capped by auto.
  const auto rn = run_llmc({"quantize", recipe, "--out", "all", "--set", "quantize.onednn_isa=all"},
                           dir.path().string());
  REQUIRE(rn.code == 0);
  CHECK(details_of("all").at("onednn_isa_cap").as_string() == "all");
  CHECK_FALSE(details_of("all").contains("deploy_env"));
  const auto rb = run_llmc({"quantize", recipe, "--out", "bf16", "--set", "quantize.scheme=bf16"},
                           dir.path().string());
  REQUIRE(rb.code == 0);
  CHECK(details_of("bf16").at("onednn_isa_cap").as_string() == "none");

  // With ONEDNN_MAX_CPU_ISA in the environment, auto leaves oneDNN to it.
  setenv("ONEDNN_MAX_CPU_ISA", "AVX2", 1);
  const auto re = run_llmc({"quantize", recipe, "--out", "env"}, dir.path().string());
  unsetenv("ONEDNN_MAX_CPU_ISA");
  INFO(re.err);
  REQUIRE(re.code == 0);
  const auto de = details_of("env");
  CHECK(de.at("onednn_isa_cap").as_string() == "none");
  CHECK(de.at("onednn_isa").as_string() == "avx2");
  CHECK(de.at("onednn_isa_reason").as_string().find("from the environment") != std::string::npos);

  const auto bad = run_llmc({"quantize", recipe, "--out", "bad", "--set", "quantize.onednn_isa=avx9"},
                            dir.path().string());
  CHECK(bad.code == 2);
  CHECK(bad.err.find("quantize.onednn_isa") != std::string::npos);
  CHECK_FALSE(fs::exists(dir.path() / "bad"));
}
