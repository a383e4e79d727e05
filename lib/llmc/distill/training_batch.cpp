#include "llmc/distill/training_batch.h"

#include <sstream>

#include <fmt/format.h>

#include "llmc/model/forward.h"
#include "llmc/util/error.h"
#include "llmc/util/log.h"

namespace llmc::distill {

using recipe::TaskKind;

c10::IValue forward_batch(torch::jit::Module& m, const data::Batch& b, const std::string& path) {
  try {
    return m.forward(b.args);
  } catch (const std::exception& e) {
    log::debug("forward failed:\n{}", e.what());
    throw InputError(path, "forward failed on a training batch: " + model::error_summary(e.what()),
                     "check the data fields against the model's forward (-v shows the model's "
                     "traceback)");
  }
}

at::Tensor attention_mask_of(const data::Batch& b, const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size() && i < b.args.size(); ++i) {
    if (args[i] == "attention_mask") return b.args[i].toTensor();
  }
  return {};
}

at::Tensor labels_of(const data::Batch& b, const std::vector<std::string>& args, TaskKind task) {
  if (task != TaskKind::language_model) return b.labels;
  data::Batch copy = b;
  data::attach_language_model_labels(copy, args);
  return copy.labels;
}

void check_labels_fit(const at::Tensor& logits, const at::Tensor& labels, TaskKind task,
                      const std::string& data_path) {
  std::ostringstream shape;
  shape << logits.sizes();
  if (task == TaskKind::multi_label) {
    if (logits.dim() != 2 || labels.dim() != 2 || labels.size(1) != logits.size(1)) {
      throw InputError(data_path, fmt::format("multi-label labels have {} values per sample but "
                                              "the student's logits are {}",
                                              labels.dim() == 2 ? labels.size(1) : 1, shape.str()),
                       "give a multi-hot list as long as the classifier head");
    }
  } else if (task == TaskKind::single_label) {
    if (logits.dim() != 2 || labels.dim() != 1) {
      throw InputError(data_path, fmt::format("single-label training needs one class index per "
                                              "sample and logits [batch, classes]; logits are {}",
                                              shape.str()));
    }
    const auto hi = labels.max().item<int64_t>();
    const auto lo = labels.min().item<int64_t>();
    if (lo < 0 || hi >= logits.size(1)) {
      throw InputError(data_path, fmt::format("class index {} does not fit the student's {} "
                                              "classes",
                                              lo < 0 ? lo : hi, logits.size(1)));
    }
  } else if (logits.dim() != 3 || logits.size(1) != labels.size(1)) {
    throw InputError(data_path, fmt::format("a language model's logits must be [batch, "
                                            "sequence, vocab] over its input ids; got {}",
                                            shape.str()));
  }
}

}  // namespace llmc::distill
