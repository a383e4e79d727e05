#include "llmc/passes/fuse_tanh_gelu.h"

#include <cmath>
#include <optional>
#include <map>
#include <utility>

#include <torch/csrc/jit/ir/ir.h>

#include "llmc/passes/constant_number.h"
#include <torch/csrc/jit/passes/dead_code_elimination.h>

namespace llmc::passes {

const char* const kFuseGeluHelp =
    "replace the written-out tanh GELU (GPT-2's gelu_new: 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + "
    "0.044715 * x^3)))) by one aten::gelu(x, approximate='tanh') (fuse_tanh_gelu): one pass "
    "over the activations instead of eight; the same function up to float rounding";

namespace {

using torch::jit::Node;
using torch::jit::Value;

constexpr double kSqrt2OverPi = 0.7978845608028654;  // sqrt(2 / pi)
constexpr double kCubic = 0.044715;

bool near(const Value* v, double expected) {
  const auto n = constant_number(v);
  return n && std::abs(*n - expected) <= 1e-6 * std::abs(expected);
}

bool only_use(const Value* v, const Node* user) {
  return v->uses().size() == 1 && v->uses()[0].user == user;
}

// For `aten::mul(a, b)`: the tensor operand when the other is a scalar close to `k`.
Value* times_constant(Node* mul, double k) {
  if (mul->kind() != c10::aten::mul || mul->inputs().size() != 2) return nullptr;
  if (near(mul->input(1), k) && mul->input(0)->type()->cast<c10::TensorType>()) return mul->input(0);
  if (near(mul->input(0), k) && mul->input(1)->type()->cast<c10::TensorType>()) return mul->input(1);
  return nullptr;
}

// `aten::add(a, b, alpha=1)`: the pair of operands.
std::optional<std::pair<Value*, Value*>> plain_add(Node* add) {
  if (add->kind() != c10::aten::add || add->inputs().size() != 3 || !near(add->input(2), 1.0)) {
    return std::nullopt;
  }
  return std::make_pair(add->input(0), add->input(1));
}

// From tanh(sqrt(2/pi) * (x + 0.044715 * pow(x, 3))): x, or null.
Value* tanh_argument(Node* tanh, std::vector<Node*>& matched) {
  Node* scale = tanh->input(0)->node();
  if (!only_use(tanh->input(0), tanh)) return nullptr;
  Value* inner = times_constant(scale, kSqrt2OverPi);
  if (!inner || !only_use(inner, scale)) return nullptr;
  Node* sum = inner->node();
  const auto operands = plain_add(sum);
  if (!operands) return nullptr;
  for (int order = 0; order < 2; ++order) {
    Value* x = order == 0 ? operands->first : operands->second;
    Value* cubic = order == 0 ? operands->second : operands->first;
    if (!only_use(cubic, sum)) continue;
    Node* cubic_mul = cubic->node();
    Value* powered = times_constant(cubic_mul, kCubic);
    if (!powered || !only_use(powered, cubic_mul)) continue;
    Node* pow = powered->node();
    if (pow->kind() != c10::aten::pow || pow->inputs().size() != 2 || pow->input(0) != x ||
        !near(pow->input(1), 3.0)) {
      continue;
    }
    matched.insert(matched.end(), {scale, sum, cubic_mul, pow});
    return x;
  }
  return nullptr;
}

// The `0.5 * x * (1 + tanh(...))` ending at `out_mul`, given the tanh node: true when it matches
// for the same x.
bool matches_outer(Node* tanh, Value* x, std::vector<Node*>& matched, Node*& out_mul) {
  if (tanh->output()->uses().size() != 1) return false;
  Node* one_plus = tanh->output()->uses()[0].user;
  const auto operands = plain_add(one_plus);
  if (!operands) return false;
  const bool tanh_first = operands->first == tanh->output();
  if (!near(tanh_first ? operands->second : operands->first, 1.0)) return false;
  if (one_plus->output()->uses().size() != 1) return false;
  Node* mul = one_plus->output()->uses()[0].user;
  if (mul->kind() != c10::aten::mul || mul->inputs().size() != 2) return false;
  Value* other = mul->input(0) == one_plus->output() ? mul->input(1) : mul->input(0);
  if (other == one_plus->output() || !only_use(other, mul)) return false;
  Node* half = other->node();
  if (times_constant(half, 0.5) != x) return false;
  matched.insert(matched.end(), {tanh, one_plus, half, mul});
  out_mul = mul;
  return true;
}

int rewrite(torch::jit::Block* block, torch::jit::Graph& graph) {
  int n = 0;
  std::vector<Node*> tanhs;
  for (Node* node : block->nodes()) {
    for (torch::jit::Block* sub : node->blocks()) n += rewrite(sub, graph);
    if (node->kind() == c10::aten::tanh && node->inputs().size() == 1) tanhs.push_back(node);
  }
  for (Node* tanh : tanhs) {
    std::vector<Node*> matched;
    Value* x = tanh_argument(tanh, matched);
    Node* out = nullptr;
    if (!x || !matches_outer(tanh, x, matched, out)) continue;
    // Every node of the expression in this block, so the replacement's place is well defined.
    bool same_block = true;
    for (const Node* m : matched) same_block = same_block && m->owningBlock() == block;
    if (!same_block) continue;
    torch::jit::WithInsertPoint at(out);
    Value* gelu = graph.insert(c10::aten::gelu, {x}, {torch::jit::NamedValue("approximate", std::string("tanh"))});
    gelu->setType(out->output()->type());
    out->output()->replaceAllUsesWith(gelu);
    ++n;
  }
  return n;
}

}  // namespace

PassResult fuse_tanh_gelu(torch::jit::Graph& graph) {
  PassResult r;
  r.changed = rewrite(graph.block(), graph);
  if (r.changed > 0) torch::jit::EliminateDeadCode(graph.block());
  return r;
}

PassResult fuse_tanh_gelu(torch::jit::Module& model) {
  // A method graph belongs to a module type: rewrite each once, count it for every instance.
  std::map<const torch::jit::Graph*, int64_t> fused;
  PassResult r;
  for (const auto& m : model.modules()) {
    for (const auto& method : m.get_methods()) {
      auto graph = method.graph();
      auto it = fused.find(graph.get());
      if (it == fused.end()) it = fused.emplace(graph.get(), fuse_tanh_gelu(*graph).changed).first;
      r.changed += it->second;
    }
  }
  return r;
}

}  // namespace llmc::passes
