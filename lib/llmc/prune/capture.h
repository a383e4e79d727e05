// Activation statistics of Linear (and Conv2d: per input channel) inputs on calibration data, for Wanda and activation-based
// structured importance. The forward graph is copied and inlined, every aten::linear whose
// weight belongs to a named Linear module gets its input added to the graph's outputs, and the
// copy runs on the batches; the model itself is not changed.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <torch/script.h>

#include "llmc/data/inputs.h"

namespace llmc::prune {

struct InputStats {
  at::Tensor sum_sq;  // [in_features]: sum over every row (token) of x_j^2; padding
                      // tokens (attention_mask 0 in a [batch, seq, features] input) excluded
  int64_t rows = 0;
  at::Tensor norm() const { return sum_sq.sqrt(); }  // ||X_j||_2
};

// Module path of the Linear (Conv2d) that an aten::linear (aten::conv2d) node's weight comes from ("" when the weight
// is not a chain of attribute reads from self).
std::string linear_module_path(const torch::jit::Node* linear);

// Statistics for each Linear or Conv2d module in `layers` called by forward. InputError naming the layer
// when it is called inside control flow (its input cannot be captured there).
std::map<std::string, InputStats> capture_linear_inputs(const torch::jit::Module& model,
                                                        const std::vector<std::string>& layers,
                                                        const std::vector<data::Batch>& batches);

}  // namespace llmc::prune
