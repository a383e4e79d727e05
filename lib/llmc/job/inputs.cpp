#include "llmc/job/inputs.h"

#include "llmc/model/inspect.h"
#include "llmc/util/error.h"

namespace llmc::job {

void check_token_ids(const data::SampleTable& table, const torch::jit::Module& model,
                     const std::string& model_path) {
  if (const auto rows = model::input_vocab_size(model)) {
    data::check_token_ids(table, *rows, model_path);
  }
}

data::SampleTable read_checked_samples(const recipe::DataSpec& spec, const recipe::TaskKind task,
                                       const torch::jit::Module& model,
                                       const std::string& model_path) {
  data::SampleTable table = data::read_samples(spec, model::forward_argument_names(model), task);
  check_token_ids(table, model, model_path);
  return table;
}

Inputs load_inputs(const recipe::CommonRecipe& common, const torch::jit::Module& model) {
  const auto args = model::forward_argument_names(model);
  if (!model.find_method("forward")) {
    throw InputError(common.model, "the model has no forward method");
  }
  Inputs in;
  std::optional<data::InputSet> example;
  if (!common.example_inputs.empty()) {
    example = data::make_example_inputs(common.example_inputs, args, common.seed, common.origin);
  }
  if (common.data) {
    in.samples = read_checked_samples(*common.data, common.task.type, model, common.model);
    in.agreement = data::make_batches(*in.samples, common.data->batch_size);
  } else {
    in.agreement = *example;
  }
  if (common.task.type == recipe::TaskKind::language_model) {
    for (auto& b : in.agreement.batches) data::attach_language_model_labels(b, args);
  }
  in.latency = example ? example->batches.front() : in.agreement.batches.front();
  return in;
}

}  // namespace llmc::job
