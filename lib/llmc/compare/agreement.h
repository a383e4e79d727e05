// Output agreement between a reference model and a candidate on the same inputs, and the task
// metric of each when labels are given.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <torch/script.h>

#include "llmc/compare/agreement_stats.h"
#include "llmc/metrics/task_metrics.h"
#include "llmc/recipe/common.h"

namespace llmc::compare {

// Tensors of an output value in a fixed order (tuples, lists and dicts flattened).
std::vector<at::Tensor> output_tensors(const c10::IValue& output);

// Compares outputs batch by batch. Throws InputError when the outputs differ in structure or
// shape. Label agreement is measured on the first output tensor when it is [rows, classes].
Agreement compare_outputs(const std::vector<c10::IValue>& reference,
                          const std::vector<c10::IValue>& candidate,
                          const recipe::TaskSpec& task);

// The task metric of the first output tensor (logits [rows, classes]) against batch labels.
metrics::MetricSet task_metrics(const std::vector<c10::IValue>& outputs,
                                const std::vector<at::Tensor>& labels,
                                const recipe::TaskSpec& task);

}  // namespace llmc::compare
