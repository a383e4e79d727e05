// Pruning building blocks on the fixture models: pattern discovery in the inlined graph,
// activation capture against a direct computation, per-layer targets and exact zero counts.
#include "llmc/passes/conv1d_to_linear.h"
#include "llmc/prune/capture.h"
#include "llmc/prune/prune.h"
#include "llmc/prune/structured.h"
#include "llmc/prune/unstructured.h"

#include "torch_doctest.h"

#include "test_support.h"

#include <cstdlib>

using namespace llmc::prune;

using llmc::test::fixture;

TEST_CASE("feed-forward pairs, attention units and conv chains are found in the graph") {
  auto bert = torch::jit::load(fixture("bert_tiny.pt"));
  bert.eval();
  const auto pairs = find_ffn_pairs(bert);
  REQUIRE(pairs.size() == 3);
  CHECK(pairs[0].up == "bert.encoder.layer.0.intermediate.dense");
  CHECK(pairs[0].down == "bert.encoder.layer.0.output.dense");
  CHECK(pairs[2].up == "bert.pooler.dense");
  CHECK(pairs[2].down == "classifier");
  const auto units = find_attention(bert);
  REQUIRE(units.size() == 2);
  CHECK(units[1].path == "bert.encoder.layer.1.attention.self");
  CHECK(units[1].out == "bert.encoder.layer.1.attention.output.dense");
  CHECK(units[1].heads == 2);
  CHECK(units[1].head_dim == 32);

  auto cnn = torch::jit::load(fixture("cnn_bn.pt"));
  cnn.eval();
  const auto chains = find_conv_chains(cnn);
  REQUIRE(chains.size() == 2);
  CHECK(chains[0].conv == "0");
  CHECK(chains[0].bn == "1");
  CHECK(chains[0].next == "4");
  CHECK(chains[1].next == "9");
  // No attention in a CNN, no fused-qkv confusion.
  CHECK(find_attention(cnn).empty());
  // A fused c_attn split by the input width (d = h.size(2)): pruning heads would keep that width.
  CHECK_THROWS_WITH_AS(find_attention(torch::jit::load(fixture("lm_student.pt"))),
                       doctest::Contains("split in thirds by a size computed in forward"),
                       llmc::InputError);
}

TEST_CASE("attention units of GPT-2's fused c_attn and LLaMA's grouped-query attention") {
  for (const char* name : {"hf_gpt2_traced.pt", "hf_gpt2_scripted.pt"}) {
    INFO(name);
    auto gpt2 = torch::jit::load(fixture(name));
    CHECK(llmc::passes::conv1d_to_linear(gpt2).changed == 8);  // as prune does first
    const auto units = find_attention(gpt2);
    REQUIRE(units.size() == 2);
    CHECK(units[0].path == "transformer.h.0.attn");
    CHECK(units[0].fused == "transformer.h.0.attn.c_attn");
    CHECK(units[0].out == "transformer.h.0.attn.c_proj");
    CHECK(units[0].heads == 4);
    CHECK(units[0].kv_heads == 4);
    CHECK(units[0].head_dim == 16);
  }
  for (const char* name : {"hf_llama_traced.pt", "hf_llama_scripted.pt", "hf_llama_ri_traced.pt"}) {
    INFO(name);
    const auto units = find_attention(torch::jit::load(fixture(name)));
    REQUIRE(units.size() == 2);
    CHECK(units[1].path == "model.layers.1.self_attn");
    CHECK(units[1].fused.empty());
    CHECK(units[1].k == "model.layers.1.self_attn.k_proj");
    CHECK(units[1].out == "model.layers.1.self_attn.o_proj");
    CHECK(units[1].heads == 4);
    CHECK(units[1].kv_heads == 2);
    CHECK(units[1].head_dim == 16);
  }
}

TEST_CASE("captured input statistics equal a direct computation") {
  auto bert = torch::jit::load(fixture("bert_tiny.pt"));
  bert.eval();
  llmc::data::Batch b;
  b.args = {torch::randint(1, 1000, {3, 10}), torch::ones({3, 10}, torch::kLong)};
  b.rows = 3;
  const auto stats = capture_linear_inputs(bert, {"classifier", "bert.pooler.dense"}, {b, b});
  REQUIRE(stats.count("classifier"));
  torch::NoGradGuard no_grad;
  const auto pooled = bert.attr("bert").toModule().forward(b.args).toTensor();  // classifier input
  const auto expected = (pooled.pow(2).sum(0) * 2).to(at::kDouble);
  CHECK(torch::allclose(stats.at("classifier").sum_sq, expected, 1e-5, 1e-6));
  CHECK(stats.at("classifier").rows == 6);
  CHECK(stats.at("bert.pooler.dense").rows == 6);  // the [CLS] rows only: [3, 64] per batch
}

TEST_CASE("layer targets: overrides in order, N:M fixes the sparsity") {
  PruneOptions o;
  o.sparsity = 0.5;
  o.overrides = {{"*.intermediate.*", 0.2, {}}, {"*.dense", 0.3, {}}};
  CHECK(layer_target("a.intermediate.dense", o) == 0.2);
  CHECK(layer_target("a.output.dense", o) == 0.3);
  CHECK(layer_target("a.query", o) == 0.5);
  o.n = 2;
  o.m = 8;
  CHECK(layer_target("a.query", o) == 0.75);
}

TEST_CASE("unstructured: exact zero counts per layer, per row for wanda") {
  auto bert = torch::jit::load(fixture("bert_tiny.pt"));
  std::vector<llmc::model::NamedLayer> layers;
  for (const auto& l : llmc::model::linear_layers(bert)) {
    if (l.name.find("encoder.layer.0") != std::string::npos) layers.push_back(l);
  }
  REQUIRE(layers.size() == 6);
  PruneOptions o;
  o.sparsity = 0.3;
  const auto result = prune_unstructured(layers, o, 1.0, {});
  for (const auto& s : result) CHECK(s.zeros == std::llround(0.3 * static_cast<double>(s.numel)));
  // Half the target first (a gradual step), then the full target: zeros only grow.
  auto fresh = torch::jit::load(fixture("bert_tiny.pt"));
  std::vector<llmc::model::NamedLayer> one{{"q", fresh.attr("bert").toModule().attr("encoder").toModule()
                                                      .attr("layer").toModule().attr("0").toModule()
                                                      .attr("attention").toModule().attr("self").toModule()
                                                      .attr("query").toModule()}};
  const auto half = prune_unstructured(one, o, 0.5, {});
  const auto w_half = one[0].module.attr("weight").toTensor().clone();
  const auto full = prune_unstructured(one, o, 1.0, {});
  CHECK(half[0].zeros == std::llround(0.15 * 4096));
  CHECK(full[0].zeros == std::llround(0.3 * 4096));
  CHECK(one[0].module.attr("weight").toTensor().eq(0).logical_or(w_half.ne(0)).all().item<bool>());
}

TEST_CASE("deflated size: zeros compress") {
  const std::string random_bytes = [] {
    std::string s(1 << 16, '\0');
    uint32_t x = 1;
    for (auto& c : s) {
      x = x * 1664525u + 1013904223u;
      c = static_cast<char>(x >> 24);
    }
    return s;
  }();
  const std::string zeros(1 << 16, '\0');
  CHECK(deflated_bytes(random_bytes) > (1 << 16) * 0.95);
  CHECK(deflated_bytes(zeros) < 1000);

  // 16 MiB, each MiB half random and half zeros (as a pruned weight file is zeros spread all
  // over): exact when small enough, else estimated from evenly spaced samples, close to exact.
  llmc::test::TempDir dir;
  std::string file;
  uint32_t x = 7;
  for (int chunk = 0; chunk < 16; ++chunk) {
    std::string c(1 << 20, '\0');
    for (size_t i = 0; i < c.size() / 2; ++i) {
      x = x * 1664525u + 1013904223u;
      c[i] = static_cast<char>(x >> 24);
    }
    file += c;
  }
  const std::string path = dir.write("mixed.bin", file);
  const auto exact = deflated_file_bytes(path);
  CHECK_FALSE(exact.estimated);
  CHECK(exact.bytes == deflated_bytes(file));
  CHECK(exact.sampled_bytes == static_cast<int64_t>(file.size()));
  const auto estimate = deflated_file_bytes(path, int64_t{4} << 20);
  CHECK(estimate.estimated);
  CHECK(estimate.sampled_bytes == int64_t{4} << 20);
  CHECK(std::abs(static_cast<double>(estimate.bytes) / static_cast<double>(exact.bytes) - 1.0) <
        0.05);
}
