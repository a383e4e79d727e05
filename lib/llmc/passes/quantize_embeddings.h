// Pass quantize_embeddings: `aten::embedding` calls on constant fp32 tables (a frozen graph)
// become 8-bit-per-row lookups: the table is quantized once with
// quantized::embedding_bag_byte_prepack (uint8 rows with a per-row float scale and bias, the
// rounding fbgemm uses) and stored as three constants — uint8 codes [rows, dim], scales and
// biases [rows, 1]; a lookup gathers the rows of each with aten::index_select and computes
// codes * scale + bias in float, reshaped to the embedding's output shape. LibTorch 1.13's
// graph-mode passes quantize only embedding_bag, and language models use embedding; this pass
// covers them. The constants are plain tensors, so the artifact saves and loads like any
// TorchScript file and lowers to ONNX with standard ops.
//
// Tied tables (GPT-2's wte and lm_head, one tensor in the model): when a quantized Linear of the
// module holds the same matrix (its int8 weight dequantizes to the table within half a step),
// the lookup reads that int8 weight instead of a second copy — index_select on it, dequantize,
// times the row scales for a per-channel weight — through a module attribute, so the archive
// stores the int8 matrix once (TorchScript's pickler writes a storage once per archive). A table
// shared with a layer that stays float32 is left alone: quantizing it would store it twice.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <torch/script.h>

#include "llmc/passes/pass_result.h"

namespace llmc::passes {

struct QuantizedEmbedding {
  std::string name;  // module path from the constant's name, e.g. "bert.embeddings.word_embeddings"
  int64_t rows = 0;
  int64_t dim = 0;
  int64_t bytes_before = 0;
  int64_t bytes_after = 0;  // what the artifact gained for it (row scales only when shared)
  // The packed-weight attribute of the quantized Linear whose int8 matrix the lookup shares
  // ("" for a table of its own).
  std::string shares_packed_weight;
};

// changed: tables quantized, each in `done` (and by name in `sites`); left: selected tables that
// stay float32, by module path.
struct EmbeddingResult : PassResult {
  std::vector<QuantizedEmbedding> done;
};

// Rewrites the selected embeddings of `graph` (a method graph of `module`, whose input 0 is
// self) in place; shared tables get a module attribute. `select(name)` decides per table.
EmbeddingResult quantize_embeddings(torch::jit::Module& module, torch::jit::Graph& graph,
                                    const std::function<bool(const std::string&)>& select);

}  // namespace llmc::passes
