// Pass lowp_compute_inputs: in a graph whose weights were cast to a 16-bit float type, the
// activation operands of every matrix product and convolution (aten::linear, matmul, mm, bmm,
// addmm, baddbmm, conv1d/2d/3d, conv_transpose1d/2d/3d, _convolution) are cast to that type, and
// so are the input and initial states of every recurrent layer (aten::lstm, gru, rnn_tanh,
// rnn_relu: a trace bakes float32 zeros for the states).
// A model may build float32 tensors of its own in forward (a causal mask from torch.full or
// torch.triu, position encodings): added to a bf16 activation they promote it to float32, and the
// next product then mixes float32 with bf16 weights or activations, which LibTorch refuses
// ("expected scalar type BFloat16 but found Float"). This is PyTorch's autocast policy for
// these ops: whatever precision reaches them, they compute in the low-precision type. A cast of
// a tensor that already has the type returns it unchanged (no copy).
#pragma once

#include <torch/script.h>

#include "llmc/passes/pass_result.h"

namespace llmc::passes {

// changed: the operands now cast (at most two per node). An operand that already is a cast to
// the type is not cast again.
PassResult lowp_compute_inputs(torch::jit::Graph& graph, at::ScalarType compute_type);

}  // namespace llmc::passes
