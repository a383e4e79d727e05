#include "llmc/passes/fp16_storage.h"

#include <torch/csrc/jit/ir/ir.h>

namespace llmc::passes {

const char* const kBeyondFloat16 = "values beyond float16's range";

Fp16StorageResult fp16_storage(torch::jit::Graph& graph) {
  Fp16StorageResult result;
  std::vector<torch::jit::Node*> constants;
  for (torch::jit::Node* node : graph.nodes()) {
    if (node->kind() != c10::prim::Constant || !node->output()->type()->cast<c10::TensorType>()) {
      continue;
    }
    const auto value = torch::jit::toIValue(node->output());
    if (!value || !value->isTensor()) continue;
    const at::Tensor& t = value->toTensor();
    if (t.scalar_type() != at::kFloat || t.numel() < 2) continue;
    constants.push_back(node);
  }
  constexpr double kHalfMax = 65504.0;
  for (torch::jit::Node* node : constants) {
    const at::Tensor t = torch::jit::toIValue(node->output())->toTensor();
    if (t.abs().max().item<double>() > kHalfMax) {
      result.left.push_back({node->output()->debugName(), kBeyondFloat16});
      continue;
    }
    torch::jit::WithInsertPoint guard(node->next());
    torch::jit::Value* half = graph.insertConstant(t.to(at::kHalf));
    half->setDebugName(node->output()->debugName() + "_fp16");
    torch::jit::Value* back = graph.insert(
        c10::Symbol::fromQualString("aten::to"),
        {half, c10::IValue(static_cast<int64_t>(at::kFloat)), false, false});
    node->output()->replaceAllUsesWith(back);
    node->destroy();
    ++result.changed;
    result.bytes_before += t.numel() * 4;
    result.bytes_after += t.numel() * 2;
  }
  return result;
}

}  // namespace llmc::passes
