// The LibTorch side of the metrics module: output agreement between a reference model and a
// candidate on the same inputs, and the task metric of a model's outputs when labels are given,
// both fed batch by batch (the torch-free formulas are in metrics/task_metrics.h; the figures in
// metrics/agreement_stats.h).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <torch/script.h>

#include "llmc/metrics/agreement_stats.h"
#include "llmc/data/inputs.h"
#include "llmc/metrics/task_metrics.h"
#include "llmc/recipe/common.h"

namespace llmc::metrics {

// Tensors of an output value in a fixed order (tuples, lists and dicts flattened).
std::vector<at::Tensor> output_tensors(const c10::IValue& output);

// The inverse for a runtime that returns flat outputs (ONNX Runtime): `flat` shaped like
// `reference` (a lone tensor stays a tensor, anything else becomes a tuple of the tensors).
c10::IValue output_like(const c10::IValue& reference, const std::vector<at::Tensor>& flat);

// Agreement of a candidate with a reference, fed one batch at a time so that no model's outputs
// need to be kept (a language model's logits over an evaluation set run to gigabytes). add()
// throws InputError when the outputs differ in structure or shape. Label agreement is measured
// on the first output tensor when it is [rows, classes] (per position for a language model).
class AgreementAccumulator {
 public:
  explicit AgreementAccumulator(recipe::TaskSpec task);
  void add(const c10::IValue& reference, const c10::IValue& candidate);
  Agreement result() const;

 private:
  recipe::TaskSpec task_;
  Agreement result_;
  double sum_abs_ = 0, dot_ = 0, norm_a_ = 0, norm_b_ = 0;
  int64_t label_same_ = 0, label_rows_ = 0;
  int64_t decisions_same_ = 0, decisions_ = 0;
  bool labels_measurable_ = true;
};

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

// compare_outputs and task_metrics: the same over outputs already collected.
Agreement compare_outputs(const std::vector<c10::IValue>& reference,
                          const std::vector<c10::IValue>& candidate,
                          const recipe::TaskSpec& task);

// Summed next-token negative log-likelihood and the number of predicted tokens of a causal LM:
// logits [batch, seq, vocab] at position t predict labels[:, t + 1] (kIgnoreIndex skipped).
std::pair<double, int64_t> next_token_nll(const at::Tensor& logits, const at::Tensor& labels);

// The task metric of the first output tensor (logits [rows, classes], or [rows, seq, vocab] for
// a language model) against batch labels.
metrics::MetricSet task_metrics(const std::vector<c10::IValue>& outputs,
                                const std::vector<at::Tensor>& labels,
                                const recipe::TaskSpec& task);

}  // namespace llmc::metrics
