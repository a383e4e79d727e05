// Inputs for measuring a model: synthetic tensors from the recipe's example_inputs, or batches
// read from a JSONL file whose fields map to forward's arguments (with labels when given).
#pragma once

#include <string>
#include <vector>

#include <torch/script.h>

#include "llmc/data/samples.h"
#include "llmc/recipe/common.h"

namespace llmc::data {

struct Batch {
  std::vector<c10::IValue> args;  // in forward's argument order
  at::Tensor labels;              // undefined when the data has none
  int64_t rows = 0;
  std::string source;             // the JSONL file of the rows; empty for example inputs
  std::vector<int64_t> lines;     // each row's line in `source`
  // "data.jsonl:12" for a row read from a file; "" for synthetic inputs.
  std::string row_location(int64_t row) const;
};

struct InputSet {
  std::vector<Batch> batches;
  std::string source;  // "example_inputs" or the JSONL path
  bool has_labels() const { return !batches.empty() && batches.front().labels.defined(); }
  int64_t rows() const;
};

// Builds one batch from the specs, ordered by `forward_args`. Throws RecipeError (pointing at
// the spec) for a name forward does not have or a forward argument no spec provides.
InputSet make_example_inputs(const std::vector<recipe::InputSpec>& specs,
                             const std::vector<std::string>& forward_args, int64_t seed,
                             const recipe::Origin& where);

// The batch of the given samples; ragged 1-D sequences are padded to the longest of the batch.
// A column is int64 when all its values in the file are integers, else float32.
Batch make_batch(const SampleTable& table, const std::vector<int64_t>& rows);

// Consecutive batches of spec.batch_size over the samples.
InputSet make_batches(const SampleTable& table, int64_t batch_size);
// Reads a JSONL file (read_samples) into consecutive batches of spec.batch_size.
InputSet load_jsonl(const recipe::DataSpec& spec, const std::vector<std::string>& forward_args,
                    recipe::TaskKind task = recipe::TaskKind::none);

// A causal language model's labels: the input ids with padding (attention mask 0) set to
// kIgnoreIndex; the loss and perplexity predict token t+1 from position t.
constexpr int64_t kIgnoreIndex = -100;
at::Tensor language_model_labels(const at::Tensor& input_ids, const at::Tensor& attention_mask);
// Sets batch.labels from the argument named input_ids (else the first) and attention_mask.
void attach_language_model_labels(Batch& batch, const std::vector<std::string>& forward_args);

}  // namespace llmc::data
