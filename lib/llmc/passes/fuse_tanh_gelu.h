// Pass fuse_tanh_gelu: GPT-2's activation (HF's `gelu_new`, `NewGELUActivation`) is written out
// as `0.5 * x * (1.0 + tanh(sqrt(2 / pi) * (x + 0.044715 * pow(x, 3.0))))`: eight elementwise
// passes over the batch × seq × intermediate activations, each reading and writing the whole
// tensor. They are replaced by one `aten::gelu(x, approximate="tanh")`, the same formula in one
// loop. Measured here on GPT-2's width (16 × 128 × 3072, 1 thread): the eight ops take about
// half of a dynamic-int8 model's time. The same function up to float rounding (the kernel
// evaluates the formula in another order): not bit-identical.
//
// It matches the graph a trace or a script of that expression gives, operands of `*` and `+` in
// either order, the exponent 3 as an int or a float, the constants within 1e-6 of their values;
// every intermediate must be used only inside the expression. Other spellings (HF's
// `FastGELUActivation`, `x * x * x`) are left as they are.
#pragma once

#include <torch/script.h>

#include "llmc/passes/pass_result.h"

namespace llmc::passes {

// The recipe key `fuse_gelu`'s description, shared by the subcommands that have it.
extern const char* const kFuseGeluHelp;

// changed: the expressions replaced in `graph` (nested blocks included).
PassResult fuse_tanh_gelu(torch::jit::Graph& graph);

// Every method graph of every module type of `model`, each type once. changed: the expressions
// the model's module instances no longer compute (a type shared by 12 blocks counts 12).
PassResult fuse_tanh_gelu(torch::jit::Module& model);

}  // namespace llmc::passes
