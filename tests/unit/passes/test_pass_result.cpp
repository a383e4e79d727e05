// passes/pass_result: the contract every graph pass keeps. Each pass, run a second time on its
// own output, changes nothing (idempotence), on HF-style fixtures (traced and scripted) with
// the passes in the order pipelines.cpp lists; and the result's helpers.
#include "torch_doctest.h"
#include <torch/script.h>

#include "llmc/model/load.h"
#include "llmc/passes/activation_matmuls.h"
#include "llmc/passes/bake_eval_mode.h"
#include "llmc/passes/conv1d_to_linear.h"
#include "llmc/passes/decompose_sdpa.h"
#include "llmc/passes/fake_quantize_linear.h"
#include "llmc/passes/fp16_storage.h"
#include "llmc/passes/functional_slice_assign.h"
#include "llmc/passes/fuse_tanh_gelu.h"
#include "llmc/passes/lowp_range_constants.h"
#include "llmc/passes/pass_result.h"
#include "llmc/passes/pipelines.h"

#include "test_support.h"

namespace passes = llmc::passes;
using llmc::test::fixture;

namespace {

// A frozen forward graph of `model` with its floating-point weights cast to bfloat16, as
// quantize's bf16 scheme makes it.
torch::jit::Module frozen_bf16(const torch::jit::Module& model) {
  torch::jit::Module m = model.clone();
  m.eval();
  for (const auto& p : m.named_parameters(true)) {
    if (p.value.is_floating_point()) p.value.set_data(p.value.to(at::kBFloat16));
  }
  for (const auto& b : m.named_buffers(true)) {
    if (b.value.is_floating_point()) b.value.set_data(b.value.to(at::kBFloat16));
  }
  return torch::jit::freeze(m, c10::nullopt, /*optimize_numerics=*/true);
}

torch::jit::Module frozen(const torch::jit::Module& model) {
  torch::jit::Module m = model.clone();
  m.eval();
  return torch::jit::freeze(m, c10::nullopt, /*optimize_numerics=*/true);
}

}  // namespace

TEST_CASE("every pass changes nothing on a second run (module passes, quantize and prune order)") {
  for (const char* name : {"hf_gpt2_traced.pt", "hf_gpt2_scripted.pt", "hf_bert_scripted.pt",
                           "hf_llama_traced.pt", "hf_gpt2_sdpa.pt"}) {
    INFO(name);
    llmc::model::LoadNotes notes;
    torch::jit::Module m = llmc::model::load(fixture(name), &notes);  // decompose_sdpa ran
    CHECK(passes::decompose_sdpa(m).changed == 0);
    passes::bake_eval_mode(m);
    CHECK(passes::bake_eval_mode(m).changed == 0);
    const auto cleanup = passes::inference_cleanup(m, true, true);
    const auto again = passes::inference_cleanup(m, true, true);
    CHECK(again.attention->changed == 0);
    CHECK(again.fused_gelu->changed == 0);
    passes::conv1d_to_linear(m);
    CHECK(passes::conv1d_to_linear(m).changed == 0);
    passes::lowp_range_constants(m);
    CHECK(passes::lowp_range_constants(m).changed == 0);
    // distill's QAT rewrite (on a clone, as distill runs it): its weights are then fake-quantize
    // outputs, no longer attributes, so a second run rewrites none and lists them as left.
    torch::jit::Module student = m.clone();
    passes::FakeQuantizeLinearOptions qat;
    qat.averaging = at::ones({});
    const auto first = passes::fake_quantize_linear(student, qat);
    CHECK(first.changed > 0);
    CHECK(passes::fake_quantize_linear(student, qat).changed == 0);
    if (std::string(name).rfind("hf_gpt2", 0) == 0) {
      CHECK(notes.sdpa_decomposed == (std::string(name) == "hf_gpt2_sdpa.pt" ? 2 : 0));
      CHECK(cleanup.fused_gelu->changed == 2);  // gelu_new in each of the two blocks
    }
  }
}

TEST_CASE("every pass changes nothing on a second run (frozen-graph passes)") {
  for (const char* name : {"hf_gpt2_traced.pt", "hf_bert_traced.pt", "hf_llama_traced.pt",
                           "hf_llama_scripted.pt"}) {
    INFO(name);
    const torch::jit::Module model = llmc::model::load(fixture(name));

    // quantize bf16: the whole pipeline, twice.
    torch::jit::Module low = frozen_bf16(model);
    auto graph = low.get_method("forward").graph();
    const auto first = passes::bf16_compute(*graph, {false});
    CHECK(first.product_operands.changed > 0);
    const auto second = passes::bf16_compute(*graph, {false});
    CHECK(second.boundary.changed == 0);
    CHECK(second.layer_norms.changed == 0);
    CHECK(second.rms_norms.changed == 0);
    CHECK(second.product_operands.changed == 0);
    CHECK(second.range.changed == 0);

    // quantize fp16, int8's bf16 products, export-onnx's rewrites, eval-freeze's gelu.
    torch::jit::Module f = frozen(model);
    auto g = f.get_method("forward").graph();
    passes::fuse_tanh_gelu(*g);
    CHECK(passes::fuse_tanh_gelu(*g).changed == 0);
    passes::activation_matmuls_bf16(*g);
    CHECK(passes::activation_matmuls_bf16(*g).changed == 0);
    passes::activation_matmuls_float32(*g);
    CHECK(passes::activation_matmuls_float32(*g).changed == 0);
    passes::functional_slice_assign(*g);
    CHECK(passes::functional_slice_assign(*g).changed == 0);
    const auto half = passes::fp16_storage(*g);
    CHECK(half.changed > 0);
    CHECK(passes::fp16_storage(*g).changed == 0);
  }
}

TEST_CASE("PassResult: counts, merged results and the one-line description") {
  passes::PassResult a;
  a.changed = 2;
  a.sites = {"h.0.attn"};
  passes::PassResult b;
  b.changed = 1;
  b.left = {{"h.1.attn", "tied"}, {"lm_head", "tied"}, {"wte", "other"}};
  a += b;
  CHECK(a.changed == 3);
  CHECK(a.sites.size() == 1);
  CHECK(a.left_count() == 3);
  CHECK(a.left_count("tied") == 2);
  CHECK(passes::describe("conv1d_to_linear", a) ==
        "conv1d_to_linear: 3 changed, 3 left alone (first h.1.attn: tied)");
  CHECK(passes::describe("fuse_tanh_gelu", passes::PassResult{}) == "fuse_tanh_gelu: 0 changed");
}
