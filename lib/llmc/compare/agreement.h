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

// Summed next-token negative log-likelihood and the number of predicted tokens of a causal LM:
// logits [batch, seq, vocab] at position t predict labels[:, t + 1] (kIgnoreIndex skipped).
std::pair<double, int64_t> next_token_nll(const at::Tensor& logits, const at::Tensor& labels);

// The task metric of the first output tensor (logits [rows, classes], or [rows, seq, vocab] for
// a language model) against batch labels.
metrics::MetricSet task_metrics(const std::vector<c10::IValue>& outputs,
                                const std::vector<at::Tensor>& labels,
                                const recipe::TaskSpec& task);

}  // namespace llmc::compare
