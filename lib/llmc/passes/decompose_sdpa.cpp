#include "llmc/passes/decompose_sdpa.h"

#include <limits>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>

#include <fmt/format.h>
#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/ir/ir.h>

#include "llmc/model/graph_nodes.h"

namespace llmc::passes {

namespace {

using torch::jit::Graph;
using torch::jit::Node;
using torch::jit::Value;

const c10::Symbol kSdpa = c10::Symbol::fromQualString("aten::scaled_dot_product_attention");

enum class MaskKind { none, boolean, additive, unknown };

MaskKind kind_of_dtype(c10::optional<at::ScalarType> t) {
  if (!t) return MaskKind::unknown;
  if (*t == at::kBool) return MaskKind::boolean;
  return at::isFloatingType(*t) ? MaskKind::additive : MaskKind::unknown;
}

MaskKind kind_of_ivalue(const c10::IValue& v) {
  if (v.isNone()) return MaskKind::none;
  if (v.isTensor()) return kind_of_dtype(v.toTensor().scalar_type());
  if (v.isDouble()) return MaskKind::additive;
  if (v.isBool()) return MaskKind::boolean;
  return MaskKind::unknown;
}

// Where a graph is called from, and which module instance a class type stands for: what the mask
// inference needs to leave a method's graph.
struct ModuleContext {
  std::unordered_map<const Graph*, std::vector<Node*>> callers;
  std::unordered_map<const c10::ClassType*, torch::jit::Module> instances;
};

class MaskInference {
 public:
  explicit MaskInference(const ModuleContext* context) : context_(context) {}

  MaskKind of(Value* v, int depth = 0) {
    if (depth > 64) return MaskKind::unknown;
    if (v->type()->kind() == c10::TypeKind::NoneType) return MaskKind::none;
    if (const auto t = v->type()->cast<c10::TensorType>(); t && t->scalarType()) {
      return kind_of_dtype(t->scalarType());
    }
    if (const auto c = torch::jit::toIValue(v)) return kind_of_ivalue(*c);
    Node* n = v->node();
    if (n->kind() == c10::prim::Param) return of_param(v, depth);
    if (n->kind() == c10::prim::GetAttr) {
      if (const auto attr = attribute(v)) return kind_of_ivalue(*attr);
      return MaskKind::unknown;
    }
    const std::string kind = n->kind().toQualString();
    static const std::set<std::string> boolean = {
        "aten::eq", "aten::ne", "aten::lt", "aten::le", "aten::gt", "aten::ge",
        "aten::logical_not", "aten::logical_and", "aten::logical_or", "aten::logical_xor",
        "aten::isnan", "aten::isinf", "aten::isfinite"};
    static const std::set<std::string> follow_first = {
        "aten::view", "aten::reshape", "aten::expand", "aten::expand_as", "aten::slice",
        "aten::select", "aten::unsqueeze", "aten::squeeze", "aten::contiguous", "aten::clone",
        "aten::permute", "aten::transpose", "aten::repeat", "aten::narrow", "aten::tril",
        "aten::triu", "aten::masked_fill", "aten::detach", "aten::__getitem__", "aten::index",
        "aten::flatten", "aten::repeat_interleave", "aten::__and__", "aten::__or__",
        "aten::bitwise_and", "aten::bitwise_or", "aten::bitwise_not", "aten::__invert__",
        "aten::chunk", "prim::ListUnpack", "aten::split",
        // in place: the result has self's dtype
        "aten::mul_", "aten::add_", "aten::sub_", "aten::div_", "aten::masked_fill_",
        "aten::fill_", "aten::copy_", "aten::clamp_", "aten::clamp", "aten::tril_", "aten::triu_"};
    static const std::set<std::string> arithmetic = {
        "aten::mul", "aten::add", "aten::sub", "aten::rsub", "aten::div", "aten::neg",
        "aten::log", "aten::exp", "aten::pow"};
    static const std::set<std::string> factories = {
        "aten::zeros", "aten::ones", "aten::full", "aten::empty", "aten::zeros_like",
        "aten::ones_like", "aten::full_like", "aten::empty_like", "aten::new_zeros",
        "aten::new_ones", "aten::new_full", "aten::tensor", "aten::arange"};
    if (boolean.count(kind)) return MaskKind::boolean;
    if (follow_first.count(kind) && n->inputs().size() >= 1) return of(n->input(0), depth + 1);
    if (kind == "aten::to" || kind == "aten::type_as") return of_cast(n, depth);
    if (kind == "aten::where" && n->inputs().size() == 3) {
      const MaskKind a = of(n->input(1), depth + 1);
      return a != MaskKind::unknown ? a : of(n->input(2), depth + 1);
    }
    if (factories.count(kind)) return of_factory(n);
    if (arithmetic.count(kind)) {
      // Arithmetic promotes a boolean operand: the result is float unless both are boolean.
      for (Value* in : n->inputs()) {
        const MaskKind k = of(in, depth + 1);
        if (k == MaskKind::additive) return k;
      }
      return MaskKind::unknown;
    }
    return MaskKind::unknown;
  }

 private:
  MaskKind of_cast(Node* n, int depth) {
    // aten::to(self, dtype, ...), to(self, device, dtype, ...), to(self, other, ...),
    // type_as(self, other).
    for (size_t i = 1; i < n->inputs().size() && i < 3; ++i) {
      Value* in = n->input(i);
      if (in->type()->isSubtypeOf(*c10::TensorType::get())) return of(in, depth + 1);
      if (in->type()->kind() == c10::TypeKind::IntType) {
        if (const auto c = torch::jit::toIValue(in); c && c->isInt()) {
          return kind_of_dtype(static_cast<at::ScalarType>(c->toInt()));
        }
        return MaskKind::unknown;
      }
    }
    return of(n->input(0), depth + 1);
  }

  MaskKind of_factory(Node* n) {
    // The dtype is the first keyword argument after the size (or the fill value).
    const auto& schema = n->schema();
    for (size_t i = 0; i < schema.arguments().size() && i < n->inputs().size(); ++i) {
      if (schema.arguments()[i].name() != "dtype") continue;
      const auto c = torch::jit::toIValue(n->input(i));
      if (!c) return MaskKind::unknown;
      if (c->isNone()) break;
      return kind_of_dtype(static_cast<at::ScalarType>(c->toInt()));
    }
    if (n->kind() == c10::aten::full && n->inputs().size() >= 2) {
      const auto fill = torch::jit::toIValue(n->input(1));
      return fill ? kind_of_ivalue(*fill) : MaskKind::unknown;
    }
    return MaskKind::additive;  // the default dtype
  }

  // A method's argument: what every call site passes, when they agree.
  MaskKind of_param(Value* v, int depth) {
    if (context_ == nullptr) return MaskKind::unknown;
    const auto it = context_->callers.find(v->owningGraph());
    if (it == context_->callers.end() || it->second.empty()) return MaskKind::unknown;
    std::optional<MaskKind> agreed;
    for (Node* call : it->second) {
      if (v->offset() >= call->inputs().size()) return MaskKind::unknown;
      const MaskKind k = of(call->input(v->offset()), depth + 1);
      if (agreed && *agreed != k) return MaskKind::unknown;
      agreed = k;
    }
    return agreed.value_or(MaskKind::unknown);
  }

  // The value of `self.a.b...` where self is the graph's first input.
  std::optional<c10::IValue> attribute(Value* v, int depth = 0) {
    if (context_ == nullptr || depth > 32) return std::nullopt;
    Node* n = v->node();
    if (n->kind() == c10::prim::Param) {
      const auto cls = v->type()->cast<c10::ClassType>();
      if (!cls) return std::nullopt;
      const auto it = context_->instances.find(cls.get());
      if (it == context_->instances.end()) return std::nullopt;
      return it->second._ivalue();
    }
    if (n->kind() != c10::prim::GetAttr) return std::nullopt;
    const auto owner = attribute(n->input(0), depth + 1);
    if (!owner || !owner->isObject()) return std::nullopt;
    const auto object = owner->toObject();
    const std::string& name = n->s(c10::attr::name);
    if (!object->type()->hasAttribute(name)) return std::nullopt;
    return object->getAttr(name);
  }

  const ModuleContext* context_;
};

Value* constant(Graph& g, const c10::IValue& v) { return g.insertConstant(v); }

// The scores with the mask applied, in the form `kind` says.
Value* apply_mask(Graph& g, Value* scores, Value* mask, MaskKind kind) {
  const double neg_inf = -std::numeric_limits<double>::infinity();
  switch (kind) {
    case MaskKind::none: return scores;
    case MaskKind::additive:
      return g.insert(c10::aten::add, {scores, mask});
    case MaskKind::boolean: {
      Value* dropped = g.insert(c10::Symbol::fromQualString("aten::logical_not"), {mask});
      return g.insert(c10::aten::masked_fill, {scores, dropped, constant(g, neg_inf)});
    }
    case MaskKind::unknown: {
      // if mask.dtype == torch.bool: masked_fill(...) else: scores + mask
      Value* dtype = g.insert(c10::prim::dtype, {mask});
      Value* is_bool = g.insert(c10::aten::eq, {dtype, constant(g, int64_t{11})});
      Node* branch = g.insertNode(g.create(c10::prim::If, {is_bool}, 1));
      for (const MaskKind k : {MaskKind::boolean, MaskKind::additive}) {
        torch::jit::Block* block = branch->addBlock();
        torch::jit::WithInsertPoint in(block);
        block->registerOutput(apply_mask(g, scores, mask, k));
      }
      branch->output()->setType(c10::TensorType::get());
      return branch->output();
    }
  }
  return scores;
}

// Replaces one call; false (and `why`) when an argument that changes the computation's shape
// is not a constant.
bool decompose(Node* n, MaskInference& masks, DecomposeSdpaResult& result, std::string& why) {
  Graph& g = *n->owningGraph();
  // (query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa)
  const auto arg = [&](size_t i) -> std::optional<c10::IValue> {
    if (i >= n->inputs().size()) return std::nullopt;
    return torch::jit::toIValue(n->input(i));
  };
  const auto dropout = arg(4);
  const auto causal = arg(5);
  const auto gqa = n->inputs().size() > 7 ? arg(7) : std::optional<c10::IValue>(false);
  if (!dropout || !causal || !gqa) {
    why = "dropout_p, is_causal and enable_gqa must be constants";
    return false;
  }
  torch::jit::WithInsertPoint before(n);
  Value* q = n->input(0);
  Value* k = n->input(1);
  Value* v = n->input(2);
  if (gqa->toBool()) {
    Value* hq = g.insert(c10::aten::size, {q, constant(g, int64_t{-3})});
    Value* hk = g.insert(c10::aten::size, {k, constant(g, int64_t{-3})});
    Value* repeats = g.insert(c10::aten::floordiv, {hq, hk});
    const auto repeat = [&](Value* x) {
      return g.insert(c10::Symbol::fromQualString("aten::repeat_interleave"),
                      {x, repeats, constant(g, int64_t{-3})});
    };
    k = repeat(k);
    v = repeat(v);
  }
  Value* kt = g.insert(c10::aten::transpose, {k, constant(g, int64_t{-2}), constant(g, int64_t{-1})});
  Value* scores = g.insert(c10::aten::matmul, {q, kt});
  const auto scale = arg(6);
  if (scale && !scale->isNone()) {
    scores = g.insert(c10::aten::mul, {scores, constant(g, scale->toDouble())});
  } else {
    Value* head_dim = g.insert(c10::aten::size, {q, constant(g, int64_t{-1})});
    Value* root = g.insert(c10::aten::sqrt, {head_dim});
    scores = g.insert(c10::aten::div, {scores, root});
  }
  if (causal->toBool()) {
    Value* rows = g.insert(c10::aten::size, {q, constant(g, int64_t{-2})});
    Value* cols = g.insert(c10::aten::size, {k, constant(g, int64_t{-2})});
    Value* shape = g.insertNode(g.createList(c10::IntType::get(), {rows, cols}))->output();
    Value* ones = g.insert(c10::aten::ones, {shape},
                           {torch::jit::NamedValue("dtype", static_cast<int64_t>(at::kBool))});
    Value* keep = g.insert(c10::aten::tril, {ones});
    scores = apply_mask(g, scores, keep, MaskKind::boolean);
  }
  const MaskKind mask = masks.of(n->input(3));
  if (mask == MaskKind::unknown) ++result.mask_dtype_unknown;
  scores = apply_mask(g, scores, n->input(3), mask);
  Value* probs = g.insert(c10::aten::softmax, {scores, constant(g, int64_t{-1}), constant(g, c10::IValue())});
  if (dropout->toDouble() > 0.0) {
    probs = g.insert(c10::aten::dropout, {probs, n->input(4), constant(g, true)});
  }
  Value* out = g.insert(c10::aten::matmul, {probs, v});
  out->setType(n->output()->type());
  n->output()->replaceAllUsesWith(out);
  n->destroy();
  ++result.changed;
  return true;
}

void collect(const Graph& graph, std::vector<Node*>& out) {
  for (Node* n : model::graph_nodes(graph)) {
    if (n->kind() == kSdpa) out.push_back(n);
  }
}

void run(Graph& graph, MaskInference& masks, DecomposeSdpaResult& result) {
  std::vector<Node*> calls;
  collect(graph, calls);
  for (Node* n : calls) {
    std::string why;
    const std::string where = n->sourceRange().source()
                                  ? fmt::format("{}", n->sourceRange().str().substr(0, 120))
                                  : std::string("forward");
    if (!decompose(n, masks, result, why)) result.left.push_back({where, why});
  }
}

}  // namespace

DecomposeSdpaResult decompose_sdpa(Graph& graph) {
  DecomposeSdpaResult result;
  MaskInference masks(nullptr);
  run(graph, masks, result);
  return result;
}

DecomposeSdpaResult decompose_sdpa(torch::jit::Module& module) {
  // Every method graph once (instances of one scripted class share theirs).
  ModuleContext context;
  std::vector<std::shared_ptr<Graph>> graphs;
  std::set<const Graph*> seen;
  const auto graph_of = [](torch::jit::Function* f) -> std::shared_ptr<Graph> {
    auto* gf = dynamic_cast<torch::jit::GraphFunction*>(f);
    return gf ? gf->graph() : nullptr;
  };
  for (const auto& m : module.modules()) {
    context.instances.emplace(m.type().get(), m);
    for (torch::jit::Function* f : m.type()->methods()) {
      auto g = graph_of(f);
      if (g && seen.insert(g.get()).second) graphs.push_back(g);
    }
  }
  bool any = false;
  for (const auto& g : graphs) {
    std::vector<Node*> calls;
    collect(*g, calls);
    any = any || !calls.empty();
  }
  DecomposeSdpaResult result;
  if (!any) return result;
  // Call sites: prim::CallMethod on a module value of a known class.
  const auto callers = [&](const Graph& graph) {
    for (Node* n : model::graph_nodes(graph)) {
      if (n->kind() != c10::prim::CallMethod) continue;
      const auto cls = n->input(0)->type()->cast<c10::ClassType>();
      if (!cls) continue;
      torch::jit::Function* target = cls->findMethod(n->s(c10::attr::name));
      if (!target) continue;
      if (auto g = graph_of(target)) context.callers[g.get()].push_back(n);
    }
  };
  for (const auto& g : graphs) callers(*g);
  MaskInference masks(&context);
  for (const auto& g : graphs) run(*g, masks, result);
  return result;
}

}  // namespace llmc::passes
