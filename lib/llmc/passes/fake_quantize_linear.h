// Pass fake_quantize_linear: quantization-aware training's rewrite. Every `aten::linear` whose
// weight is a 2-D tensor attribute of the module that calls it (nn.Linear's forward, scripted or
// traced, and functional F.linear(x, self.weight) in a module of one's own) gets
//   - its weight fake-quantized to int8: symmetric, scale = max|w| / 127.5 per output channel
//     (or per tensor), zero point 0, range [-128, 127] -- what llmc's int8 weight observers
//     compute (quantize/observers.h), recomputed from the current weights on every forward;
//   - with `activations`, its input fake-quantized to uint8: affine, range [0, 255], from a
//     moving-average min/max observer held in two 0-dim tensor attributes of the module
//     (`_fq_<weight>_min`, `_fq_<weight>_max`): new = old + c * (batch - old), where c is the
//     tensor `averaging` that every layer shares (attribute `_fq_averaging`): 1 takes the batch's
//     range, 0.01 averages, 0 freezes the observers (and evaluation) -- the caller sets it.
// The fake-quantize ops are LibTorch's (`aten::fake_quantize_per_channel_affine`,
// `aten::fake_quantize_per_tensor_affine` with tensor qparams): gradients pass straight
// through inside the range. Only the methods' graphs and new attributes change; the module's
// parameters stay the same tensors, so a clone(inplace) of a model can be rewritten while the
// original keeps computing in float on the same weights.
// A linear whose weight comes from elsewhere (a tied or computed weight, or one this pass already
// fake-quantized) is left alone and listed in `left`. PassResult (passes/pass_result.h):
// `changed` counts the aten::linear nodes rewritten (a graph shared by several instances once).
#pragma once

#include <string>
#include <vector>

#include <torch/script.h>

#include "llmc/passes/pass_result.h"

namespace llmc::passes {

struct FakeQuantizeLinearOptions {
  bool per_channel = true;  // weights: one scale per output channel (else one per tensor)
  bool activations = true;  // also the linear's input, with a min/max observer
  at::Tensor averaging;     // 0-dim float tensor shared by all observers; required with activations
};

struct FakeQuantizedLinear {
  std::string module;  // module path ("" = the root), e.g. "bert.encoder.layer.0.output.dense"
  std::string weight;  // its attribute name, e.g. "weight"
  int64_t weight_elements = 0;
  at::Tensor act_min, act_max;  // the observer's state (undefined without activations)
};

struct FakeQuantizeLinearResult : PassResult {
  std::vector<FakeQuantizedLinear> layers;  // one per module instance and weight
  int graphs_rewritten = 0;
};

FakeQuantizeLinearResult fake_quantize_linear(torch::jit::Module& model,
                                              const FakeQuantizeLinearOptions& options);

}  // namespace llmc::passes
