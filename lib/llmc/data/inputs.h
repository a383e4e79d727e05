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

// Reads a JSONL file into batches. A malformed line is an InputError naming file and line.
InputSet load_jsonl(const recipe::DataSpec& spec, const std::vector<std::string>& forward_args);

}  // namespace llmc::data
