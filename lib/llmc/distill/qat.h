// `distill.qat`: quantization-aware training. The trainer runs a fake-quantized twin of the
// student (pass fake_quantize_linear on a clone sharing the student's tensors) from
// qat.start_epoch on, so the optimizer updates the float weights through straight-through
// gradients while the student itself (checkpoints, best.pt) stays plain float TorchScript.
// After training, the best student is converted by `llmc quantize`'s code (quantize_job) and
// compared with post-training quantization of the student as it was before QAT.
#pragma once

#include <string>
#include <vector>

#include <torch/script.h>

#include "llmc/distill/recipe.h"
#include "llmc/job/job.h"
#include "llmc/passes/fake_quantize_linear.h"
#include "llmc/util/json.h"

namespace llmc::distill {

class QatStudent {
 public:
  // The fake-quantized twin of `student` (which it shares its parameters with).
  QatStudent(const torch::jit::Module& student, const QatOptions& options);
  torch::jit::Module& module() { return module_; }
  const passes::FakeQuantizeLinearResult& rewrite() const { return rewrite_; }
  // Before a training forward in (1-based) `epoch`: the observers take the first batch's range,
  // then average, and stand still from freeze_observers_epoch on.
  void before_training_batch(int64_t epoch);
  // Before evaluation: observers stand still.
  void before_evaluation();
  // The observed input ranges: [{layer, min, max}].
  util::Json activation_ranges() const;

 private:
  QatOptions options_;
  torch::jit::Module module_;
  at::Tensor averaging_;
  passes::FakeQuantizeLinearResult rewrite_;
  bool observed_ = false;
};

// What the fake quantization covered of `student`'s parameters: fake-quantized layers and their
// share of the parameters, and every matrix left in float (embeddings, tied or Conv1D weights),
// with its share, plus the 1-D parameters (biases, norms) together. Warnings for what was left.
util::Json qat_coverage(const torch::jit::Module& student,
                        const passes::FakeQuantizeLinearResult& rewrite,
                        std::vector<std::string>& warnings);

// The `llmc quantize` options that convert a QAT student (and make the post-training baselines):
// quantize.scheme, per_channel and calibration_batches as distill.qat sets them, calibrated on
// the training data.
quantize::QuantizeOptions conversion_options(const DistillOptions& options,
                                             quantize::Scheme scheme);

// Runs `llmc quantize`'s transform on a deep copy of `student` (which stays as it is).
job::TransformResult quantize_as_llmc_quantize(const torch::jit::Module& student,
                                               const quantize::QuantizeOptions& options,
                                               const job::TransformInput& in);

struct QatComparison {
  torch::jit::Module artifact;  // the QAT student as int8
  job::TransformResult conversion;  // its quantize details and warnings (artifact moved out)
  util::Json table = util::Json::array();  // one row per model
};

// Converts `best` (the QAT-trained float student) and quantizes `before` (the student before
// QAT) post-training with static-int8 and dynamic-int8; measures each with the float students
// on the evaluation data (task metric, its drop against `before` in float) and on the latency
// batch.
QatComparison compare_with_ptq(const DistillRecipe& recipe, const torch::jit::Module& best,
                               const torch::jit::Module& before, const std::string& metric,
                               const job::TransformInput& in);

}  // namespace llmc::distill
