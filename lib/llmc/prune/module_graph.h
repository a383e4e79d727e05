// Helpers of the structured pruning code: a model's forward inlined, submodules and their
// tensors by dotted path, and the constants of view sizes. Internal to lib/llmc/prune/.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/script.h>

namespace llmc::prune::detail {

// forward with every call inlined from the current method graphs.
std::shared_ptr<torch::jit::Graph> inlined_forward(const torch::jit::Module& model);
// A module's own forward graph (not a copy), or nullptr.
std::shared_ptr<torch::jit::Graph> own_forward(const torch::jit::Module& m);
// Calls `f` on every node of `graph`, nested blocks included (model::graph_nodes).
void for_each_node(const torch::jit::Graph& graph, const std::function<void(torch::jit::Node*)>& f);
// Activations a unit's values pass through unchanged in layout (GELU, ReLU, SiLU, ...).
bool is_elementwise(const torch::jit::Node* n);
torch::jit::Module submodule(const torch::jit::Module& root, const std::string& path);
// The value of a constant int list (a constant, or a ListConstruct of constants); empty if not.
std::vector<int64_t> constant_ints(const torch::jit::Value* v);
std::string join_path(const std::string& a, const std::string& b);
// A tensor attribute, or an undefined tensor when the module has none (a Linear without bias).
at::Tensor param(const torch::jit::Module& m, const char* name);
// Constants at the end of a view's size list: {second to last, last}, or {0, 0}.
std::pair<int64_t, int64_t> last_two(const torch::jit::Node* view);
// Why modules that look like attention were not taken, for the error message ("" if none).
std::string unrecognised_attention(const torch::jit::Module& model);

}  // namespace llmc::prune::detail
