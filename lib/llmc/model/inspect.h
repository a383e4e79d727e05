// What a TorchScript model holds: parameters and buffers (count, bytes, dtype), methods with
// their schemas, and the operator histogram of forward (with submodule calls inlined).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <torch/script.h>

#include "llmc/util/json.h"

namespace llmc::model {

struct TensorInfo {
  std::string name;
  std::vector<int64_t> shape;
  std::string dtype;
  int64_t numel = 0;
  int64_t bytes = 0;
};

struct ModelInfo {
  std::string path;
  int64_t file_bytes = 0;
  bool training = false;  // the root module's training flag as loaded
  std::vector<TensorInfo> parameters;
  std::vector<TensorInfo> buffers;
  std::vector<std::string> methods;  // "forward(Tensor input_ids, Tensor attention_mask) -> Tensor"
  std::map<std::string, int64_t> forward_ops;  // "aten::linear" -> 12
  int64_t parameter_count = 0;
  int64_t parameter_bytes = 0;
  int64_t buffer_bytes = 0;
};

ModelInfo inspect(const torch::jit::Module& module, const std::string& path);

// Parameter count and bytes (parameters and buffers, plus tensors that freezing turned into
// graph constants) of a module: what the model weighs in memory.
struct WeightStats {
  int64_t count = 0;
  int64_t bytes = 0;
  int64_t float32_bytes = 0;  // of that, float32 tensors
  int64_t half_bytes = 0;     // and bfloat16 or float16 ones
};
WeightStats weight_stats(const torch::jit::Module& module);

// Argument names of forward, without self.
std::vector<std::string> forward_argument_names(const torch::jit::Module& module);

// Rows of the embedding table token ids index: the first 2-D parameter whose name says
// word/token embedding (word_embeddings, embed_tokens, wte, tok_embeddings, embedding), or
// nothing when the model has none.
std::optional<int64_t> input_vocab_size(const torch::jit::Module& module);

util::Json to_json(const ModelInfo& info);
std::string to_text(const ModelInfo& info);

}  // namespace llmc::model
