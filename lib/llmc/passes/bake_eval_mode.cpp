#include "llmc/passes/bake_eval_mode.h"

#include <torch/csrc/jit/ir/ir.h>

#include "llmc/model/graph_nodes.h"

namespace llmc::passes {

namespace {

// The index of the training flag for the ops that have one, or -1.
int training_flag_index(const torch::jit::Node* node) {
  static const std::vector<c10::Symbol> dropouts = {
      c10::Symbol::fromQualString("aten::dropout"),
      c10::Symbol::fromQualString("aten::dropout_"),
      c10::Symbol::fromQualString("aten::feature_dropout"),
      c10::Symbol::fromQualString("aten::feature_dropout_"),
      c10::Symbol::fromQualString("aten::alpha_dropout"),
      c10::Symbol::fromQualString("aten::alpha_dropout_"),
      c10::Symbol::fromQualString("aten::feature_alpha_dropout"),
      c10::Symbol::fromQualString("aten::feature_alpha_dropout_")};
  static const c10::Symbol batch_norm = c10::Symbol::fromQualString("aten::batch_norm");
  for (const auto& s : dropouts) {
    if (node->kind() == s && node->inputs().size() == 3) return 2;
  }
  if (node->kind() == batch_norm && node->inputs().size() == 9) return 5;
  return -1;
}

}  // namespace

BakeEvalModeResult bake_eval_mode(torch::jit::Graph& graph, bool dry_run) {
  BakeEvalModeResult result;
  // The calls are found first (model::graph_nodes, nested blocks included); the flags are
  // replaced after, so a dry run only reads.
  for (torch::jit::Node* node : model::graph_nodes(graph)) {
    const int index = training_flag_index(node);
    if (index < 0) continue;
    torch::jit::Value* flag = node->inputs()[static_cast<size_t>(index)];
    const auto constant = torch::jit::toIValue(flag);
    if (!constant || !constant->isBool() || !constant->toBool()) continue;
    if (node->kind() == c10::Symbol::fromQualString("aten::batch_norm")) {
      ++result.batch_norm;
    } else {
      ++result.dropout;
    }
    ++result.changed;
    result.sites.push_back(node_site(node));
    if (dry_run) continue;
    torch::jit::WithInsertPoint guard(node);
    torch::jit::Value* off = node->owningGraph()->insertConstant(false);
    node->replaceInput(static_cast<size_t>(index), off);
  }
  return result;
}

BakeEvalModeResult bake_eval_mode(torch::jit::Module& module, bool dry_run) {
  BakeEvalModeResult total;
  for (const auto& m : module.modules()) {
    for (const auto& method : m.get_methods()) {
      const auto r = bake_eval_mode(*method.graph(), dry_run);
      total += r;
      total.dropout += r.dropout;
      total.batch_norm += r.batch_norm;
    }
  }
  return total;
}

}  // namespace llmc::passes
