// What the training loop does with one batch besides the loss: the forward pass with a
// readable error, bfloat16 autocast, the attention mask and labels it takes from the batch, and
// the check that labels fit the student's logits.
#pragma once

#include <string>
#include <vector>

#include <ATen/autocast_mode.h>
#include <torch/script.h>

#include "llmc/data/inputs.h"
#include "llmc/recipe/common.h"

namespace llmc::distill {

// bfloat16 autocast for the forward passes inside its scope.
class Autocast {
 public:
  explicit Autocast(bool on) : on_(on) {
    if (!on_) return;
    at::autocast::set_cpu_enabled(true);
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
  }
  ~Autocast() {
    if (!on_) return;
    at::autocast::set_cpu_enabled(false);
    at::autocast::clear_cache();
  }
  Autocast(const Autocast&) = delete;
  Autocast& operator=(const Autocast&) = delete;

 private:
  bool on_;
};

// m.forward(b.args); InputError naming `path` when it fails.
c10::IValue forward_batch(torch::jit::Module& m, const data::Batch& b, const std::string& path);

// The batch's attention_mask argument (by forward's argument names); undefined without one.
at::Tensor attention_mask_of(const data::Batch& b, const std::vector<std::string>& args);

// The batch's labels; for a language model the next-token labels of its input ids.
at::Tensor labels_of(const data::Batch& b, const std::vector<std::string>& args,
                     recipe::TaskKind task);

// What a batch's labels must look like for the student's logits; InputError otherwise.
void check_labels_fit(const at::Tensor& logits, const at::Tensor& labels, recipe::TaskKind task,
                      const std::string& data_path);

}  // namespace llmc::distill
