// Hidden-state distillation (distill.hidden_states): the student's and the teacher's variants
// whose forward also returns the chosen modules' outputs (module_outputs.h), the learned
// projections where the widths differ, and the per-pair losses.
#pragma once

#include <string>
#include <vector>

#include <torch/script.h>
#include <torch/torch.h>

#include "llmc/distill/recipe.h"
#include "llmc/util/json.h"

namespace llmc::distill {

// One pair's loss on [batch, seq, width] (or [batch, width]) outputs of the same width: mse
// (mean squared difference over the width) or cosine (1 - cosine similarity), per token, then
// averaged over each sample's tokens where `mask` ([batch, seq], undefined: every token) is
// non-zero, then over the samples. The teacher side is detached.
at::Tensor hidden_state_loss(const at::Tensor& student, const at::Tensor& teacher,
                             HiddenLoss kind, const at::Tensor& mask);

// A variant's output split into the model's own output and the chosen modules' outputs.
struct SplitOutput {
  c10::IValue own;
  std::vector<at::Tensor> hidden;
};
SplitOutput split_output(const c10::IValue& variant_output, size_t pairs);

struct HiddenLossParts {
  at::Tensor total;                // sum of weight * pair loss
  std::vector<at::Tensor> pairs;   // each pair's loss, unweighted
};

class HiddenStates {
 public:
  HiddenStates() = default;
  // Builds the variants of `student` and `teacher` (sharing their tensors). A module that does
  // not exist, is not called where its output can be read, or returns no tensor: RecipeError
  // (exit 2) naming the recipe key, with the nearest existing module names.
  HiddenStates(const std::vector<HiddenStatePair>& pairs, const torch::jit::Module& student,
               const torch::jit::Module& teacher, const std::string& student_path,
               const std::string& teacher_path);

  bool empty() const { return pairs_.empty(); }
  size_t size() const { return pairs_.size(); }
  torch::jit::Module& student() { return student_; }
  torch::jit::Module& teacher() { return teacher_; }

  // From both variants' outputs on one batch: checks the shapes (RecipeError when a module's
  // output is not [batch, seq, width] or [batch, width], or the two sides do not line up) and
  // creates the projections, initialised from `seed` (their own generator: the global random
  // stream, hence dropout, is the same as without hidden states).
  void prepare(const c10::IValue& student_output, const c10::IValue& teacher_output,
               uint64_t seed);

  // The weighted sum and each pair's loss; `student` and `teacher` are split_output's hidden.
  HiddenLossParts loss(const std::vector<at::Tensor>& student,
                       const std::vector<at::Tensor>& teacher, const at::Tensor& mask) const;

  // The projections' weights and biases (trained with the student by the same optimizer).
  std::vector<at::Tensor> parameters() const;
  // details.hidden_states of the report: each pair, its widths and projection.
  util::Json describe() const;

 private:
  struct Linear {
    at::Tensor weight;  // [teacher width, student width]; undefined: widths equal
    at::Tensor bias;
  };
  std::vector<HiddenStatePair> pairs_;
  std::vector<Linear> projections_;
  std::vector<int64_t> student_widths_, teacher_widths_;
  torch::jit::Module student_, teacher_;
  std::string student_path_, teacher_path_;
};

}  // namespace llmc::distill
