// Output agreement between a reference model and a candidate on the same inputs, fed batch by
// batch (the figures are in metrics/agreement_stats.h; a model's task metric on its outputs in
// metrics/metric_accumulator.h).
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

// The same over outputs already collected.
Agreement compare_outputs(const std::vector<c10::IValue>& reference,
                          const std::vector<c10::IValue>& candidate,
                          const recipe::TaskSpec& task);

}  // namespace llmc::metrics
