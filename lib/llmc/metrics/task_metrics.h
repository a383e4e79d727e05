// Task metrics on logits and labels, torch-free: accuracy and macro-F1 for single-label
// classification; samples-average Jaccard (the distillation case study's metric), micro-F1 and
// exact match for multi-label classification;
// perplexity for causal language models.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace llmc::metrics {

struct MetricSet {
  std::string primary;                               // name of the headline metric
  bool higher_is_better = true;                      // false for perplexity and losses
  std::vector<std::pair<std::string, double>> values;  // primary first
  double value(const std::string& name) const;
  double primary_value() const { return values.front().second; }
};

// `logits` row-major [rows, classes]; `labels` class indices, one per row.
MetricSet single_label_metrics(const std::vector<float>& logits, int64_t rows, int64_t classes,
                               const std::vector<int64_t>& labels);

// `logits` and multi-hot `labels` row-major [rows, classes]; a label is predicted when
// sigmoid(logit) >= threshold. Rows where both sets are empty score 0 in Jaccard (as
// scikit-learn's jaccard_score(average="samples") does by default).
MetricSet multi_label_metrics(const std::vector<float>& logits, const std::vector<float>& labels,
                              int64_t rows, int64_t classes, double threshold);

// Causal language modelling: perplexity = exp(mean next-token negative log-likelihood) over
// `tokens` predicted tokens (lower is better).
MetricSet language_model_metrics(double total_nll, int64_t tokens);

// The same decision rule, for label agreement between two models.
bool multi_label_predicted(float logit, double threshold);

}  // namespace llmc::metrics
