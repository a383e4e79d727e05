// Operators that archives written by a newer PyTorch call and LibTorch 1.13 lacks, registered so
// that such archives load and run (forward and backward). Today: aten::scaled_dot_product_attention
// (PyTorch 2.0+, the default attention of current transformers releases), with its 2.5 schema
// (`enable_gqa`). model::load registers them before loading and then decomposes the calls into
// LibTorch 1.13's own operators (passes/decompose_sdpa.h), so every artifact llmc writes loads
// in a plain LibTorch 1.13 without llmc.
#pragma once

#include <string>
#include <vector>

namespace llmc::model {

// Idempotent and thread-safe. A LibTorch that already has an operator keeps its own.
void register_newer_operators();

// The operators register_newer_operators provides ("aten::scaled_dot_product_attention").
const std::vector<std::string>& newer_operator_names();

}  // namespace llmc::model
