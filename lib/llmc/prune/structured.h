// Structured pruning that shrinks tensors: feed-forward intermediate neurons (rows of the first
// Linear, the matching columns of the second) and attention heads (rows of query/key/value,
// columns of the output projection, and the module's head-count attribute). Patterns are found
// in the inlined forward graph; a result that does not compute exactly what the original with
// those units masked computes is refused, naming the layer.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <torch/script.h>

#include "llmc/data/inputs.h"
#include "llmc/prune/capture.h"
#include "llmc/prune/recipe.h"

namespace llmc::prune {

// A Linear whose output reaches exactly one other Linear's input through element-wise
// operations only: activations (GELU, ReLU, SiLU, tanh, sigmoid, dropout), arithmetic with
// constants or among themselves (GPT-2's gelu_new written out), and products with other Linears
// of the same input (a gated MLP: down(silu(gate(x)) * up(x)), whose neuron is a row of gate and
// of up and a column of down).
struct FfnPair {
  std::string up;    // e.g. bert.encoder.layer.0.intermediate.dense; LLaMA: mlp.gate_proj
  std::string down;  // e.g. bert.encoder.layer.0.output.dense
  std::vector<std::string> also_up;  // the other row-pruned Linears of a gated MLP (mlp.up_proj)
};

// An attention module: a submodule with an integer head count (num_heads, num_attention_heads,
// n_head, n_heads, heads) or, traced, head views after its projections, and either
// query/key/value Linear children (query/key/value, q_proj/k_proj/v_proj, q_lin/k_lin/v_lin,
// q/k/v) or one fused projection whose output rows are q, k and v in thirds, split in forward
// (GPT-2's c_attn); and the Linear its value path reaches first (the output projection).
// Grouped-query attention (LLaMA: fewer key/value heads, each serving heads / kv_heads query
// heads in order) is pruned by whole key/value groups.
struct AttentionUnit {
  std::string path;  // the attention module, e.g. bert.encoder.layer.0.attention.self
  std::string q, k, v, out;
  std::string fused;          // the fused projection (q, k and v are it), or ""
  std::string heads_attr;     // attribute holding the head count; "" when traced
  std::string kv_heads_attr;  // num_key_value_heads, when the module has it
  bool traced = false;        // the head count is in view constants of the module's forward
  // Int attributes holding the width of one projection (all_head_size; DistilBERT's dim, from
  // which its forward computes the head size; GPT-2's split_size), set with the head count.
  std::vector<std::string> width_attrs;
  int64_t heads = 0;
  int64_t kv_heads = 0;  // == heads unless grouped-query attention
  int64_t head_dim = 0;
};

// A Conv2d whose output reaches exactly one other Conv2d (or, after global average pooling and
// flatten, one Linear) through an optional batch norm, element-wise activations and pooling.
struct ConvChain {
  std::string conv;
  std::string bn;    // "" without batch norm
  std::string next;  // the Conv2d or Linear reading the channels
};

std::vector<FfnPair> find_ffn_pairs(const torch::jit::Module& model);
std::vector<ConvChain> find_conv_chains(const torch::jit::Module& model);
// InputError naming the module when an attention-like module cannot be handled (e.g. a fused
// qkv projection).
std::vector<AttentionUnit> find_attention(const torch::jit::Module& model);

struct StructuredChange {
  std::string layer;  // FfnPair::up or AttentionUnit::path
  std::string kind;   // "ffn", "heads" or "channels"
  int64_t before = 0;
  int64_t after = 0;
};

// Rewrites `model` in place; `stats` holds Linear input statistics for activation importance.
// `masked` receives the same removals as zeros in an unshrunk copy, for verification.
std::vector<StructuredChange> prune_structured(torch::jit::Module& model,
                                               torch::jit::Module& masked,
                                               const PruneOptions& o,
                                               const std::map<std::string, InputStats>& stats);

// The Linear modules whose inputs activation importance needs.
std::vector<std::string> structured_stat_layers(const torch::jit::Module& model,
                                                const PruneOptions& o);

}  // namespace llmc::prune
