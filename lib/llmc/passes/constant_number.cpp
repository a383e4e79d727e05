#include "llmc/passes/constant_number.h"

#include <torch/csrc/jit/ir/constants.h>

namespace llmc::passes {

std::optional<double> constant_number(const torch::jit::Value* v) {
  const auto iv = torch::jit::toIValue(v);
  if (!iv) return std::nullopt;
  if (iv->isDouble()) return iv->toDouble();
  if (iv->isInt()) return static_cast<double>(iv->toInt());
  if (iv->isTensor()) {
    const at::Tensor& t = iv->toTensor();
    if (t.defined() && t.numel() == 1 && t.dim() == 0 && t.device().is_cpu() && !t.is_complex()) {
      return t.item<double>();
    }
  }
  return std::nullopt;
}

}  // namespace llmc::passes
