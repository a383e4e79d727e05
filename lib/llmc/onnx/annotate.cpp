#include "llmc/onnx/annotate.h"

#include <unordered_set>

#include <fmt/format.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/csrc/jit/passes/lower_tuples.h>

#include "llmc/model/forward.h"
#include "llmc/onnx/prepare.h"
#include "llmc/util/error.h"

namespace llmc::onnx {

using torch::jit::Node;
using torch::jit::Value;
namespace prim = c10::prim;
namespace aten = c10::aten;

const ValueInfo& Annotation::at(const Value* v) const {
  auto it = values.find(v);
  if (it == values.end()) {
    throw std::logic_error("onnx export: value %" + v->debugName() + " was not annotated");
  }
  return it->second;
}

std::vector<int64_t> merged_sizes(const ValueInfo& info) {
  if (!info.a.isTensor()) return {};
  auto a = info.a.toTensor().sizes().vec();
  if (info.b.isTensor()) {
    const auto b = info.b.toTensor().sizes();
    for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
      if (a[i] != b[i]) a[i] = -1;
    }
  }
  return a;
}

namespace {

// Ops whose result depends only on tensor metadata: static when equal in both runs.
bool is_metadata_op(const Node* n) {
  const auto k = n->kind();
  return k == aten::size || k == aten::dim || k == prim::dtype || k == prim::device ||
         k == c10::Symbol::fromQualString("aten::numel") || k == aten::__is__ || k == aten::__isnot__ || k == prim::layout ||
         k == aten::is_floating_point || k == prim::is_cuda || k == aten::len ||
         k == prim::requires_grad || k == c10::Symbol::fromQualString("aten::sym_size");
}

bool same(const c10::IValue& a, const c10::IValue& b) {
  if (a.isTensor() || b.isTensor()) return false;
  try {
    return a == b;
  } catch (const std::exception&) {
    return false;
  }
}

void run_node(Node* n, std::vector<c10::IValue>& stack) {
  switch (n->kind()) {
    case prim::ListConstruct: {
      const auto& type = n->output()->type()->expectRef<c10::ListType>();
      c10::impl::GenericList list(type.getElementType());
      list.reserve(stack.size());
      for (auto& v : stack) list.push_back(std::move(v));
      stack.assign(1, c10::IValue(std::move(list)));
      return;
    }
    case prim::TupleConstruct: {
      auto t = c10::ivalue::Tuple::create(std::vector<c10::IValue>(stack.begin(), stack.end()));
      stack.assign(1, c10::IValue(std::move(t)));
      return;
    }
    case prim::ListUnpack: {
      const auto list = stack.back().toList();
      stack.clear();
      for (size_t i = 0; i < list.size(); ++i) stack.push_back(list.get(i));
      if (stack.size() != n->outputs().size()) {
        throw std::runtime_error(fmt::format("ListUnpack: the list has {} elements, {} expected",
                                             stack.size(), n->outputs().size()));
      }
      return;
    }
    case prim::TupleUnpack: {
      const auto t = stack.back().toTuple();
      stack.assign(t->elements().begin(), t->elements().end());
      return;
    }
    default:
      n->getOperation()(stack);
  }
}

// Moves the nodes of `body` before its If node and replaces the If's outputs by the body's.
Node* inline_branch(Node* if_node, torch::jit::Block* body) {
  Node* first = nullptr;
  for (auto it = body->nodes().begin(); it != body->nodes().end();) {
    Node* b = *it;
    ++it;
    b->moveBefore(if_node);
    if (!first) first = b;
  }
  for (size_t i = 0; i < if_node->outputs().size(); ++i) {
    if_node->outputs()[i]->replaceAllUsesWith(body->outputs()[i]);
  }
  Node* next = first ? first : if_node->next();
  if_node->destroy();
  return next;
}

}  // namespace

Annotation annotate(torch::jit::Graph& graph, const std::vector<c10::IValue>& run_a,
                    const std::vector<c10::IValue>& run_b, const std::string& model_path,
                    std::vector<std::string>* warnings) {
  Annotation ann;
  if (run_a.size() != graph.inputs().size() || run_b.size() != graph.inputs().size()) {
    throw std::logic_error("onnx annotate: input count mismatch");
  }
  for (size_t i = 0; i < graph.inputs().size(); ++i) {
    ann.values[graph.inputs()[i]] = ValueInfo{true, true, run_a[i], run_b[i]};
  }
  std::unordered_set<const Node*> done;
  for (Node* n = graph.nodes().front(); n != graph.return_node();) {
    if (n->kind() == prim::If) {
      const ValueInfo& c = ann.at(n->input(0));
      if (c.dynamic && !c.data && same(c.a, c.b)) {
        // A check on shapes that holds for both runs: keep the branch taken. When the other
        // branch does more than raise an error, say that the file assumes the condition.
        torch::jit::Block* other = n->blocks()[c.a.toBool() ? 1 : 0];
        bool raises = false;
        for (const Node* b : other->nodes()) raises = raises || b->kind() == prim::RaiseException;
        if (!raises && warnings) {
          warnings->push_back(fmt::format("a condition on input shapes at {} was {} for every "
                                          "verified shape; the file keeps only that branch",
                                          where(n), c.a.toBool() ? "true" : "false"));
        }
        n = inline_branch(n, n->blocks()[c.a.toBool() ? 0 : 1]);
        continue;
      }
      if (c.dynamic) {
        throw InputError(model_path,
                         fmt::format("data-dependent control flow: an `if` on a value computed "
                                     "from the inputs, at {}; ONNX export needs one graph for "
                                     "all inputs",
                                     where(n)),
                         "compute both branches and select with torch.where, or script the "
                         "model so the condition only reads shapes on fixed axes");
      }
      n = inline_branch(n, n->blocks()[c.a.toBool() ? 0 : 1]);
      continue;
    }
    if (n->kind() == prim::Loop) {
      throw InputError(model_path,
                       fmt::format("a loop in the forward graph at {}; llmc export-onnx lowers "
                                   "straight-line graphs only (loops over ModuleLists are "
                                   "unrolled when scripting, other loops are not supported)",
                                   where(n)),
                       "trace the model (loops unroll for the traced shapes) or rewrite the loop");
    }
    if (n->kind() == prim::RaiseException) {
      throw InputError(model_path,
                       fmt::format("the model raises an exception for the verification inputs at "
                                   "{}",
                                   where(n)));
    }
    bool dynamic = false;
    bool data = false;
    for (const Value* in : n->inputs()) {
      dynamic = dynamic || ann.at(in).dynamic;
      data = data || ann.at(in).data;
    }
    if (is_metadata_op(n)) data = false;
    std::vector<c10::IValue> outs[2];
    for (int run = 0; run < 2; ++run) {
      auto& stack = outs[run];
      for (const Value* in : n->inputs()) stack.push_back(run == 0 ? ann.at(in).a : ann.at(in).b);
      try {
        if (n->kind() == prim::Constant) {
          stack.assign(1, *torch::jit::toIValue(n->output()));
        } else {
          run_node(n, stack);
        }
      } catch (const std::exception& e) {
        // c10::Error's what() ends in a C++ backtrace: its message alone.
        const auto* c10_error = dynamic_cast<const c10::Error*>(&e);
        const std::string what = c10_error ? c10_error->what_without_backtrace() : e.what();
        throw InputError(
            model_path,
            fmt::format("{} failed on the {} at {}: {}", n->kind().toQualString(),
                        run == 0 ? "recipe's inputs" : "second shape (dynamic axes resized)",
                        where(n), model::error_summary(what)),
            run == 0 ? std::string()
                     : "a size was probably baked in when the model was traced: trace with "
                       "dynamic shapes in mind, or leave that axis out of dynamic_axes");
      }
      if (stack.size() != n->outputs().size()) {
        throw std::logic_error(fmt::format("onnx annotate: {} produced {} values, {} expected",
                                           n->kind().toQualString(), stack.size(),
                                           n->outputs().size()));
      }
    }
    done.insert(n);
    // A large float activation whose users have all run keeps only its metadata (a meta
    // tensor: sizes and dtype, no storage), so annotating a big model does not hold every
    // activation of two forward passes.
    for (const Value* in : n->inputs()) {
      auto& inf = ann.values[in];
      if (!inf.dynamic || !inf.a.isTensor() || in->node()->kind() == prim::Param) continue;
      const at::Tensor& ta = inf.a.toTensor();
      if (!ta.defined() || ta.is_meta() || ta.numel() < 4096 || !at::isFloatingType(ta.scalar_type())) {
        continue;
      }
      bool all_done = true;
      for (const auto& use : in->uses()) all_done = all_done && done.count(use.user);
      for (const Value* o : graph.outputs()) all_done = all_done && o != in;
      if (!all_done) continue;
      inf.a = at::empty(ta.sizes(), ta.options().device(at::kMeta));
      if (inf.b.isTensor()) {
        const at::Tensor& tb = inf.b.toTensor();
        inf.b = at::empty(tb.sizes(), tb.options().device(at::kMeta));
      }
    }
    for (size_t i = 0; i < n->outputs().size(); ++i) {
      ValueInfo info{dynamic, data, outs[0][i], outs[1][i]};
      const bool of_shape = (n->kind() == prim::ListUnpack || n->kind() == aten::__getitem__) &&
                            n->input(0)->node()->kind() == aten::size;
      if (dynamic && (is_metadata_op(n) || of_shape) && same(info.a, info.b)) {
        info.dynamic = false;
      }
      ann.values[n->outputs()[i]] = std::move(info);
    }
    n = n->next();
  }
  // Inlined branches leave tuples built and unpacked again (nn.LSTM's (h, c)): wire them
  // through. No new values are made, so the annotation stays valid.
  torch::jit::LowerSimpleTuples(graph.block());
  torch::jit::EliminateDeadCode(graph.block());
  return ann;
}

}  // namespace llmc::onnx
