#include "llmc/prune/capture.h"

#include <set>

#include <fmt/format.h>
#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/passes/inliner.h>

#include "llmc/model/graph_nodes.h"
#include "llmc/model/inline_calls.h"
#include "llmc/model/inspect.h"
#include "llmc/util/error.h"
#include "llmc/util/progress.h"

namespace llmc::prune {

using torch::jit::Node;
using torch::jit::Value;

std::string linear_module_path(const Node* linear) {
  std::vector<std::string> parts;
  const Value* v = linear->input(1);
  while (v->node()->kind() == c10::prim::GetAttr) {
    parts.push_back(v->node()->s(c10::attr::name));
    v = v->node()->input(0);
  }
  // The chain must start at forward's `self` (the graph's first input).
  if (v->node()->kind() != c10::prim::Param || v->offset() != 0 || parts.empty() ||
      parts.front() != "weight") {
    return "";
  }
  std::string path;
  for (auto it = parts.rbegin(); it != parts.rend() - 1; ++it) {
    path += (path.empty() ? "" : ".") + *it;
  }
  return path;
}

std::map<std::string, InputStats> capture_linear_inputs(const torch::jit::Module& model,
                                                        const std::vector<std::string>& layers,
                                                        const std::vector<data::Batch>& batches) {
  // Fresh methods, the same tensors: only a copy of the graph is changed below.
  torch::jit::Module m = model.clone(/*inplace=*/true);
  m.eval();
  auto graph = m.get_method("forward").graph()->copy();
  llmc::model::inline_calls(*graph);
  const std::set<std::string> wanted(layers.begin(), layers.end());

  std::vector<std::pair<std::string, Value*>> captured;
  std::vector<bool> conv;
  std::vector<std::string> in_control_flow;
  for (Node* node : model::graph_nodes(*graph)) {
    if (node->kind() == c10::aten::linear || node->kind() == c10::aten::conv2d ||
        node->kind() == c10::aten::_convolution) {
      const std::string path = linear_module_path(node);
      if (wanted.count(path)) {
        if (node->owningBlock() != graph->block()) {  // inside an If or a Loop
          in_control_flow.push_back(path);
        } else {
          captured.emplace_back(path, node->input(0));
          conv.push_back(node->kind() != c10::aten::linear);
        }
      }
    }
  }
  if (!in_control_flow.empty()) {
    throw InputError("", fmt::format("layer {} is called inside control flow (a loop or "
                                     "an if); its activations cannot be captured",
                                     in_control_flow.front()));
  }
  // forward's output plus every captured input, as one tuple.
  std::vector<Value*> outs{graph->outputs()[0]};
  for (const auto& c : captured) outs.push_back(c.second);
  Node* tuple = graph->createTuple(outs);
  tuple->insertBefore(graph->return_node());
  graph->eraseOutput(0);
  graph->registerOutput(tuple->output());

  torch::jit::GraphFunction fn(c10::QualifiedName("__llmc_capture"), graph, nullptr);
  // Padding positions (attention mask 0) carry activations the model ignores: leave them out.
  const auto args = model::forward_argument_names(model);
  const auto mask_at = std::find(args.begin(), args.end(), "attention_mask");
  std::map<std::string, InputStats> stats;
  torch::NoGradGuard no_grad;
  log::Progress progress("calibrating", static_cast<int64_t>(batches.size()),
                         log::ProgressUnit::count, "batches");
  int64_t done = 0;
  progress.update(done);
  for (const auto& batch : batches) {
    at::Tensor mask;
    if (mask_at != args.end() && static_cast<size_t>(mask_at - args.begin()) < batch.args.size()) {
      const auto& m = batch.args[static_cast<size_t>(mask_at - args.begin())];
      if (m.isTensor() && m.toTensor().dim() == 2) mask = m.toTensor().to(at::kFloat);
    }
    std::vector<c10::IValue> stack{m._ivalue()};
    stack.insert(stack.end(), batch.args.begin(), batch.args.end());
    const c10::IValue result = fn(stack);
    const auto& elements = result.toTupleRef().elements();
    for (size_t i = 0; i < captured.size(); ++i) {
      at::Tensor x = elements[i + 1].toTensor().to(at::kFloat);
      if (conv[i]) x = x.movedim(1, -1);  // [N, C, H, W]: channels are the features
      const int64_t in = x.size(-1);
      auto& s = stats[captured[i].first];
      at::Tensor sq;
      if (mask.defined() && x.dim() == 3 && x.size(0) == mask.size(0) && x.size(1) == mask.size(1)) {
        sq = (x.pow(2) * mask.unsqueeze(-1)).reshape({-1, in}).sum(0).to(at::kDouble);
        s.rows += static_cast<int64_t>(mask.sum().item<double>());
      } else {
        const at::Tensor flat = x.reshape({-1, in});
        sq = flat.pow(2).sum(0).to(at::kDouble);
        s.rows += flat.size(0);
      }
      s.sum_sq = s.sum_sq.defined() ? s.sum_sq + sq : sq;
    }
    progress.update(++done);
  }
  return stats;
}

}  // namespace llmc::prune
