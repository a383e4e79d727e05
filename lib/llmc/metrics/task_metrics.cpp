#include "llmc/metrics/task_metrics.h"

#include <cmath>

#include "llmc/util/error.h"

namespace llmc::metrics {

double MetricSet::value(const std::string& name) const {
  for (const auto& [n, v] : values) {
    if (n == name) return v;
  }
  LLMC_ASSERT(false, "no metric named " + name);
}

bool multi_label_predicted(float logit, double threshold) {
  // sigmoid(x) >= t  <=>  x >= logit(t); compare in probability space for clarity.
  return 1.0 / (1.0 + std::exp(-static_cast<double>(logit))) >= threshold;
}

MetricSet single_label_metrics(const std::vector<float>& logits, int64_t rows, int64_t classes,
                               const std::vector<int64_t>& labels) {
  LLMC_ASSERT(static_cast<int64_t>(logits.size()) == rows * classes, "logits size");
  LLMC_ASSERT(static_cast<int64_t>(labels.size()) == rows, "labels size");
  std::vector<int64_t> tp(classes, 0), fp(classes, 0), fn(classes, 0);
  int64_t correct = 0;
  for (int64_t r = 0; r < rows; ++r) {
    int64_t best = 0;
    for (int64_t c = 1; c < classes; ++c) {
      if (logits[r * classes + c] > logits[r * classes + best]) best = c;
    }
    const int64_t truth = labels[r];
    if (best == truth) {
      ++correct;
      ++tp[best];
    } else {
      ++fp[best];
      if (truth >= 0 && truth < classes) ++fn[truth];
    }
  }
  // Macro-F1 over the classes that occur in labels or predictions.
  double f1_sum = 0;
  int64_t counted = 0;
  for (int64_t c = 0; c < classes; ++c) {
    if (tp[c] + fp[c] + fn[c] == 0) continue;
    f1_sum += 2.0 * tp[c] / static_cast<double>(2 * tp[c] + fp[c] + fn[c]);
    ++counted;
  }
  MetricSet m;
  m.primary = "accuracy";
  m.values = {{"accuracy", rows ? static_cast<double>(correct) / rows : 0.0},
              {"macro_f1", counted ? f1_sum / counted : 0.0}};
  return m;
}

MetricSet multi_label_metrics(const std::vector<float>& logits, const std::vector<float>& labels,
                              int64_t rows, int64_t classes, double threshold) {
  LLMC_ASSERT(logits.size() == labels.size(), "logits and labels differ in size");
  LLMC_ASSERT(static_cast<int64_t>(logits.size()) == rows * classes, "logits size");
  double jaccard_sum = 0;
  int64_t exact = 0;
  int64_t tp = 0, fp = 0, fn = 0;
  std::vector<int64_t> class_tp(static_cast<size_t>(classes)), class_fp(class_tp), class_fn(class_tp);
  for (int64_t r = 0; r < rows; ++r) {
    int64_t inter = 0, uni = 0;
    bool same = true;
    for (int64_t c = 0; c < classes; ++c) {
      const bool p = multi_label_predicted(logits[r * classes + c], threshold);
      const bool t = labels[r * classes + c] >= 0.5f;
      inter += p && t;
      uni += p || t;
      same = same && p == t;
      tp += p && t;
      fp += p && !t;
      fn += !p && t;
      class_tp[static_cast<size_t>(c)] += p && t;
      class_fp[static_cast<size_t>(c)] += p && !t;
      class_fn[static_cast<size_t>(c)] += !p && t;
    }
    jaccard_sum += uni ? static_cast<double>(inter) / uni : 0.0;
    exact += same;
  }
  MetricSet m;
  m.primary = "jaccard_samples";
  const double micro_f1 = tp ? 2.0 * tp / static_cast<double>(2 * tp + fp + fn) : 0.0;
  double macro_f1 = 0;  // a class never predicted nor present scores 0 (as scikit-learn)
  for (size_t c = 0; c < class_tp.size(); ++c) {
    const auto denom = 2 * class_tp[c] + class_fp[c] + class_fn[c];
    macro_f1 += denom ? 2.0 * class_tp[c] / static_cast<double>(denom) : 0.0;
  }
  macro_f1 = classes ? macro_f1 / static_cast<double>(classes) : 0.0;
  m.values = {{"jaccard_samples", rows ? jaccard_sum / rows : 0.0},
              {"micro_f1", micro_f1},
              {"macro_f1", macro_f1},
              {"exact_match", rows ? static_cast<double>(exact) / rows : 0.0}};
  return m;
}

MetricSet language_model_metrics(double total_nll, int64_t tokens) {
  MetricSet m;
  m.primary = "perplexity";
  m.higher_is_better = false;
  const double mean = tokens ? total_nll / static_cast<double>(tokens) : 0.0;
  m.values = {{"perplexity", std::exp(mean)}, {"cross_entropy", mean},
              {"tokens", static_cast<double>(tokens)}};
  return m;
}

}  // namespace llmc::metrics
