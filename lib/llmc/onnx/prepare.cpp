#include "llmc/onnx/prepare.h"

#include <fmt/format.h>
#include <torch/csrc/jit/passes/constant_propagation.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/csrc/jit/passes/freeze_module.h>
#include <torch/csrc/jit/passes/frozen_conv_folding.h>
#include <torch/csrc/jit/passes/inliner.h>
#include <torch/csrc/jit/passes/lower_tuples.h>
#include <torch/csrc/jit/passes/remove_dropout.h>
#include <torch/csrc/jit/passes/remove_mutation.h>

#include "llmc/model/inline_calls.h"
#include "llmc/passes/bake_eval_mode.h"
#include "llmc/passes/activation_matmuls.h"
#include "llmc/passes/functional_slice_assign.h"
#include "llmc/util/error.h"

namespace llmc::onnx {

std::string where(const torch::jit::Node* node) {
  const auto& range = node->sourceRange();
  if (auto src = range.source()) {
    if (auto file = src->filename()) {
      const size_t line = src->lineno_for_offset(range.start());
      std::string text = range.text().str();
      if (const auto nl = text.find('\n'); nl != std::string::npos) text = text.substr(0, nl);
      if (text.size() > 80) text = text.substr(0, 77) + "...";
      return fmt::format("{}:{}: {}", *file, src->lineno_to_source_lineno(line), text);
    }
    std::string text = range.text().str();
    if (!text.empty()) {
      if (const auto nl = text.find('\n'); nl != std::string::npos) text = text.substr(0, nl);
      return text;
    }
  }
  return node->kind().toQualString();
}

PreparedGraph prepare_graph(const torch::jit::Module& model, const std::vector<std::string>& given,
                            const std::string& model_path) {
  PreparedGraph out;
  // Fresh types and methods sharing `model`'s tensors (freezing folds them into constants
  // without copying): a large model is not held twice.
  torch::jit::Module m = model.clone(/*inplace=*/true);
  const auto baked = passes::bake_eval_mode(m, /*dry_run=*/true);
  if (baked.changed > 0) {
    throw InputError(model_path,
                     fmt::format("the model was traced in training mode: {} dropout and {} "
                                 "batch-norm calls have train=True baked in (first at {}); an "
                                 "export would keep them random or use batch statistics",
                                 baked.dropout, baked.batch_norm, baked.sites.front()),
                     "re-trace the model after model.eval(), or run `llmc eval-freeze` with "
                     "eval_freeze.fix_traced_training: true and export its model.pt");
  }
  m.eval();
  try {
    out.frozen = torch::jit::freeze_module(m);
  } catch (const c10::Error& e) {
    const std::string what = e.what();
    throw InputError(model_path, "torch::jit::freeze failed: " + what.substr(0, what.find('\n')));
  }
  out.passes.push_back("eval + freeze_module (parameters folded into named constants)");
  auto graph = out.frozen.get_method("forward").graph()->copy();
  llmc::model::inline_calls(*graph);
  // Low-precision weights: bf16 compute cannot run in ONNX Runtime on the CPU; fp16 storage
  // (llmc quantize fp16: weights cast back to float32 in forward) is exported in float32. Read
  // off the model as given (freezing folds the fp16 casts into float32 constants).
  int64_t bf16 = 0, fp16 = 0;
  const auto count = [&](const at::Tensor& t) {
    if (t.dim() == 0) return;
    bf16 += t.scalar_type() == at::kBFloat16 ? 1 : 0;
    fp16 += t.scalar_type() == at::kHalf ? 1 : 0;
  };
  for (const auto& p : model.named_parameters(true)) count(p.value);
  for (const auto& b : model.named_buffers(true)) count(b.value);
  for (const torch::jit::Node* n : model.get_method("forward").graph()->nodes()) {
    if (n->kind() != c10::prim::Constant) continue;
    const auto c = torch::jit::toIValue(n->output());
    if (c && c->isTensor()) count(c->toTensor());
  }
  if (bf16 > 0) {
    throw InputError(model_path,
                     fmt::format("the model computes in bfloat16 ({} bf16 weight tensors, as "
                                 "`llmc quantize` scheme bf16 writes them); ONNX Runtime has no "
                                 "CPU kernels for bfloat16 matrix products",
                                 bf16),
                     "export the float32 model (the input of quantize) instead; for a smaller "
                     "ONNX file quantize that with ONNX Runtime's tools, or export an int8 "
                     "artifact of `llmc quantize` (dynamic-int8 or static-int8)");
  }
  if (fp16 > 0) {
    out.warnings.push_back(fmt::format(
        "{} float16 weight tensors (fp16 storage, cast to float32 in forward) are written as "
        "float32 initializers: the ONNX file is about twice the size of the fp16 artifact",
        fp16));
  }

  // Bind the forward arguments: given ones stay inputs, the others take their defaults.
  const auto& schema = out.frozen.get_method("forward").function().getSchema();
  const auto& args = schema.arguments();
  for (size_t i = args.size(); i-- > 1;) {
    const auto& arg = args[i];
    if (std::find(given.begin(), given.end(), arg.name()) != given.end()) continue;
    if (!arg.default_value()) {
      throw InputError(model_path,
                       fmt::format("forward needs the argument `{}`, which the recipe's inputs do "
                                   "not give",
                                   arg.name()),
                       "add it to example_inputs (or to data.inputs)");
    }
    torch::jit::WithInsertPoint guard(graph->nodes().front());
    torch::jit::Value* c = graph->insertConstant(*arg.default_value());
    graph->inputs()[i]->replaceAllUsesWith(c);
    graph->eraseInput(i);
  }
  for (size_t i = 1; i < args.size(); ++i) {
    if (std::find(given.begin(), given.end(), args[i].name()) != given.end()) {
      out.input_names.push_back(args[i].name());
    }
  }
  if (graph->inputs()[0]->hasUses()) {
    throw InputError(model_path,
                     "after freezing, forward still reads attributes of `self` (mutable "
                     "attributes or ones freezing cannot fold)");
  }
  graph->eraseInput(0);

  torch::jit::removeDropout(graph);
  out.passes.push_back("removeDropout");
  // llmc quantize's bf16 attention products: ONNX Runtime has no CPU kernel for a bf16 MatMul,
  // so the exported products read the float32 operands (more precise, not less).
  if (const int64_t restored = passes::activation_matmuls_float32(*graph).changed; restored > 0) {
    out.passes.push_back(fmt::format("activation_matmuls_float32 ({} bf16 activation products "
                                     "computed in float32)",
                                     restored));
  }
  torch::jit::FoldFrozenConvBatchnorm(graph);
  torch::jit::FoldFrozenConvAddOrSub(graph);
  torch::jit::FoldFrozenConvMulOrDiv(graph);
  out.passes.push_back("fold conv + batch norm");
  // Slice assignment (LLaMA's padding mask in transformers) as values, before the mutation
  // removal, which cannot handle a copy_ into a view.
  if (const auto r = passes::functional_slice_assign(*graph); r.changed > 0) {
    out.passes.push_back(fmt::format("functional_slice_assign ({} slice assignments as cat)",
                                     r.changed));
  }
  torch::jit::RemoveListMutation(graph);
  torch::jit::RemoveTensorMutation(graph);
  out.passes.push_back("remove list and tensor mutation");
  torch::jit::ConstantPropagation(graph);
  torch::jit::LowerSimpleTuples(graph);
  torch::jit::EliminateDeadCode(graph);
  out.passes.push_back("constant propagation, tuple lowering, dead code elimination");
  out.graph = graph;
  return out;
}

}  // namespace llmc::onnx
