// Pass quantize_embeddings: `aten::embedding` calls on constant fp32 tables (a frozen graph)
// become 8-bit-per-row lookups: the table is packed once with
// quantized::embedding_bag_byte_prepack (uint8 rows with a per-row scale and bias) and looked
// up with quantized::embedding_bag_byte_rowwise_offsets, one index per bag, then reshaped to
// the embedding's output shape. LibTorch 1.13's graph-mode passes quantize only
// embedding_bag, and language models use embedding; this pass covers them. The packed table is
// a plain uint8 tensor constant, so the artifact saves and loads like any TorchScript file.
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
