// The task metric of a model's outputs against labels, fed batch by batch (the torch-free
// formulas are in metrics/task_metrics.h).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include <torch/script.h>

#include "llmc/data/inputs.h"
#include "llmc/metrics/task_metrics.h"
#include "llmc/recipe/common.h"

namespace llmc::metrics {

// The task metric of a model's outputs, one batch at a time: classification keeps only the
// [rows, classes] logits, a language model only its summed next-token loss.
class MetricAccumulator {
 public:
  explicit MetricAccumulator(recipe::TaskSpec task);
  void add(const c10::IValue& output, const at::Tensor& labels);
  // The same with the batch's labels; a label that does not fit the output names its row's
  // file:line.
  void add(const c10::IValue& output, const data::Batch& batch);
  metrics::MetricSet result() const;

 private:
  void add(const c10::IValue& output, const at::Tensor& labels, const data::Batch* batch);

  recipe::TaskSpec task_;
  double nll_ = 0;
  int64_t tokens_ = 0;
  std::vector<float> logits_, multi_hot_;
  std::vector<int64_t> classes_of_rows_;
  int64_t rows_ = 0, classes_ = -1;
};

// Summed next-token negative log-likelihood and the number of predicted tokens of a causal LM:
// logits [batch, seq, vocab] at position t predict labels[:, t + 1] (kIgnoreIndex skipped).
std::pair<double, int64_t> next_token_nll(const at::Tensor& logits, const at::Tensor& labels);

// The task metric of the first output tensor (logits [rows, classes], or [rows, seq, vocab] for
// a language model) against batch labels.
metrics::MetricSet task_metrics(const std::vector<c10::IValue>& outputs,
                                const std::vector<at::Tensor>& labels,
                                const recipe::TaskSpec& task);

}  // namespace llmc::metrics
