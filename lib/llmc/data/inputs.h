// Inputs for measuring a model: synthetic tensors from the recipe's example_inputs, or batches
// read from a JSONL file whose fields map to forward's arguments (with labels when given).
#pragma once

#include <string>
#include <vector>

#include <torch/script.h>

#include "llmc/recipe/common.h"

namespace llmc::data {

struct Batch {
  std::vector<c10::IValue> args;  // in forward's argument order
  at::Tensor labels;              // undefined when the data has none
  int64_t rows = 0;
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

// One sample's field as a flat list of numbers plus its shape ([] scalar, [n] sequence).
struct Field {
  std::vector<double> values;
  std::vector<int64_t> shape;
  bool integral = true;
};

// A data file read into memory, one row per sample, before batching: what training shuffles.
struct SampleTable {
  std::string source;                        // the JSONL path
  std::vector<std::string> args;             // forward arguments, one column each
  std::vector<std::vector<Field>> columns;   // columns[arg][sample]
  std::vector<Field> labels;                 // per sample; empty when the data has none
  std::vector<int64_t> lines;                // source line of each sample
  int64_t pad_value = 0;
  int64_t size() const { return static_cast<int64_t>(lines.size()); }
  bool has_labels() const { return !labels.empty(); }
  // Largest value of an integral column (e.g. the largest token id); -1 when none is.
  double max_value(const std::string& arg) const;
};

// Reads every sample of a JSONL file: fields mapped to forward arguments (spec.inputs), raw
// `text` tokenized with spec.tokenizer, sequences truncated to spec.max_length. A malformed
// line is an InputError naming file, line (and column).
SampleTable read_samples(const recipe::DataSpec& spec, const std::vector<std::string>& forward_args);

// The batch of the given samples; ragged 1-D sequences are padded to the longest of the batch.
Batch make_batch(const SampleTable& table, const std::vector<int64_t>& rows);

// Reads a JSONL file into consecutive batches of spec.batch_size.
InputSet load_jsonl(const recipe::DataSpec& spec, const std::vector<std::string>& forward_args);

// A causal language model's labels: the input ids with padding (attention mask 0) set to
// kIgnoreIndex; the loss and perplexity predict token t+1 from position t.
constexpr int64_t kIgnoreIndex = -100;
at::Tensor language_model_labels(const at::Tensor& input_ids, const at::Tensor& attention_mask);
// Sets batch.labels from the argument named input_ids (else the first) and attention_mask.
void attach_language_model_labels(Batch& batch, const std::vector<std::string>& forward_args);

}  // namespace llmc::data
