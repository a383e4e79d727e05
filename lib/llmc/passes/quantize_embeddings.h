// Pass quantize_embeddings: `aten::embedding` calls on constant fp32 tables (a frozen graph)
// become 8-bit-per-row lookups: the table is quantized once with
// quantized::embedding_bag_byte_prepack (uint8 rows with a per-row float scale and bias, the
// rounding fbgemm uses) and stored as three constants — uint8 codes [rows, dim], scales and
// biases [rows, 1]; a lookup gathers the rows of each with aten::index_select and computes
// codes * scale + bias in float, reshaped to the embedding's output shape. LibTorch 1.13's
// graph-mode passes quantize only embedding_bag, and language models use embedding; this pass
// covers them. The constants are plain tensors, so the artifact saves and loads like any
// TorchScript file and lowers to ONNX with standard ops.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <torch/script.h>

namespace llmc::passes {

struct QuantizedEmbedding {
  std::string name;  // module path from the constant's name, e.g. "bert.embeddings.word_embeddings"
  int64_t rows = 0;
  int64_t dim = 0;
  int64_t bytes_before = 0;
  int64_t bytes_after = 0;
};

// Rewrites the selected embeddings of `graph` in place. `select(name)` decides per table.
std::vector<QuantizedEmbedding> quantize_embeddings(
    torch::jit::Graph& graph, const std::function<bool(const std::string&)>& select);

}  // namespace llmc::passes
