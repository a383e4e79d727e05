// A run's measurement inputs: the recipe's example_inputs and/or data, read and checked against
// the model they are for.
#pragma once

#include <optional>
#include <string>

#include <torch/script.h>

#include "llmc/data/inputs.h"
#include "llmc/data/samples.h"
#include "llmc/recipe/common.h"

namespace llmc::job {

// Loads the measurement inputs of a recipe for a model (example_inputs and/or data). The data's
// values are checked for the task (data::read_samples) and its token ids against the model's
// input embedding table (check_token_ids), each error naming file:line.
struct Inputs {
  data::InputSet agreement;
  data::Batch latency;
  std::optional<data::SampleTable> samples;  // the recipe's data, when it has some
};
Inputs load_inputs(const recipe::CommonRecipe& common, const torch::jit::Module& model);

// Reads a data file for `model` (read_samples for the recipe's task) and checks its token ids
// against the model's embedding table when the model has a recognisable one.
data::SampleTable read_checked_samples(const recipe::DataSpec& spec, const recipe::TaskKind task,
                                       const torch::jit::Module& model,
                                       const std::string& model_path);

// data::check_token_ids against `model`'s input embedding table, when it has one llmc
// recognises (model::input_vocab_size).
void check_token_ids(const data::SampleTable& table, const torch::jit::Module& model,
                     const std::string& model_path);

}  // namespace llmc::job
