#include "llmc/metrics/agreement.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "llmc/data/inputs.h"
#include "llmc/util/error.h"

namespace llmc::metrics {

std::vector<at::Tensor> output_tensors(const c10::IValue& output) {
  std::vector<at::Tensor> out;
  std::function<void(const c10::IValue&)> walk = [&](const c10::IValue& v) {
    if (v.isTensor()) {
      out.push_back(v.toTensor());
    } else if (v.isTuple()) {
      for (const auto& e : v.toTupleRef().elements()) walk(e);
    } else if (v.isList()) {
      for (const auto& e : v.toListRef()) walk(e);
    } else if (v.isGenericDict()) {
      std::vector<std::pair<std::string, c10::IValue>> items;
      for (const auto& kv : v.toGenericDict()) {
        std::ostringstream key;
        key << kv.key();
        items.emplace_back(key.str(), kv.value());
      }
      std::sort(items.begin(), items.end(),
                [](const auto& a, const auto& b) { return a.first < b.first; });
      for (const auto& item : items) walk(item.second);
    }
  };
  walk(output);
  return out;
}

c10::IValue output_like(const c10::IValue& reference, const std::vector<at::Tensor>& flat) {
  if (reference.isTensor() && flat.size() == 1) return flat.front();
  std::vector<c10::IValue> elements(flat.begin(), flat.end());
  return c10::ivalue::Tuple::create(std::move(elements));
}

namespace {

// Elements compared per step in double precision (8 MiB per temporary).
constexpr int64_t kCompareSlice = int64_t{1} << 20;

struct LabelMatches {
  int64_t rows_same = 0, rows = 0;
  int64_t decisions_same = 0, decisions = 0;  // multi-label only
};

// Row-wise predicted labels agree? `a`, `b` are [rows, classes] float tensors.
LabelMatches label_matches(const at::Tensor& a, const at::Tensor& b, const recipe::TaskSpec& task) {
  if (task.type == recipe::TaskKind::multi_label) {
    const double logit_threshold = std::log(task.threshold / (1 - task.threshold));
    const auto same = a.ge(logit_threshold).eq(b.ge(logit_threshold));
    return {same.all(1).sum().item<int64_t>(), a.size(0), same.sum().item<int64_t>(), same.numel()};
  }
  return {a.argmax(1).eq(b.argmax(1)).sum().item<int64_t>(), a.size(0)};
}

}  // namespace

AgreementAccumulator::AgreementAccumulator(recipe::TaskSpec task) : task_(std::move(task)) {}

void AgreementAccumulator::add(const c10::IValue& reference, const c10::IValue& candidate) {
  const auto ra = output_tensors(reference);
  const auto cb = output_tensors(candidate);
  if (ra.size() != cb.size()) {
    throw InputError("", fmt::format("the result returns {} output tensors where the original "
                                     "returns {}",
                                     cb.size(), ra.size()));
  }
  for (size_t k = 0; k < ra.size(); ++k) {
    if (ra[k].sizes() != cb[k].sizes()) {
      std::ostringstream msg;
      msg << "output " << k << " has shape " << cb[k].sizes() << " in the result but "
          << ra[k].sizes() << " in the original";
      throw InputError("", msg.str());
    }
    const int64_t n = ra[k].numel();
    if (n == 0) continue;
    result_.identical = result_.identical && ra[k].scalar_type() == cb[k].scalar_type() &&
                        at::equal(ra[k], cb[k]);
    // In double precision, a slice at a time: a language model's logits over one batch are
    // hundreds of MB in float32, and whole-tensor double copies of them would be the run's
    // memory peak.
    const auto fa = ra[k].detach().reshape({-1});
    const auto fb = cb[k].detach().reshape({-1});
    for (int64_t start = 0; start < n; start += kCompareSlice) {
      const int64_t len = std::min(kCompareSlice, n - start);
      const auto a = fa.narrow(0, start, len).to(at::kDouble);
      const auto b = fb.narrow(0, start, len).to(at::kDouble);
      const auto diff = (a - b).abs();
      result_.max_abs_diff = std::max(result_.max_abs_diff, diff.max().item<double>());
      sum_abs_ += diff.sum().item<double>();
      dot_ += (a * b).sum().item<double>();
      norm_a_ += (a * a).sum().item<double>();
      norm_b_ += (b * b).sum().item<double>();
    }
    result_.elements += n;
  }
  if (!ra.empty() && ra[0].dim() == 3 && task_.type == recipe::TaskKind::language_model &&
      ra[0].is_floating_point()) {
    // Next-token predictions agree, position by position.
    const auto a = ra[0].argmax(2);
    const auto b = cb[0].argmax(2);
    label_same_ += a.eq(b).sum().item<int64_t>();
    label_rows_ += a.numel();
  } else if (!ra.empty() && ra[0].dim() == 2 && ra[0].size(1) > 1 && ra[0].is_floating_point()) {
    const auto m = label_matches(ra[0].to(at::kFloat), cb[0].to(at::kFloat), task_);
    label_same_ += m.rows_same;
    label_rows_ += m.rows;
    decisions_same_ += m.decisions_same;
    decisions_ += m.decisions;
  } else {
    labels_measurable_ = false;
  }
}

Agreement AgreementAccumulator::result() const {
  Agreement r = result_;
  if (r.elements > 0) r.mean_abs_diff = sum_abs_ / static_cast<double>(r.elements);
  if (norm_a_ > 0 && norm_b_ > 0) {
    r.cosine = dot_ / (std::sqrt(norm_a_) * std::sqrt(norm_b_));
  } else {
    r.cosine = norm_a_ == norm_b_ ? 1.0 : 0.0;
  }
  if (labels_measurable_ && label_rows_ > 0) {
    r.label_agreement = static_cast<double>(label_same_) / static_cast<double>(label_rows_);
    if (decisions_ > 0) {
      r.decision_agreement = static_cast<double>(decisions_same_) / static_cast<double>(decisions_);
    }
  }
  return r;
}

Agreement compare_outputs(const std::vector<c10::IValue>& reference,
                          const std::vector<c10::IValue>& candidate,
                          const recipe::TaskSpec& task) {
  LLMC_ASSERT(reference.size() == candidate.size(), "batch counts differ");
  AgreementAccumulator acc(task);
  for (size_t i = 0; i < reference.size(); ++i) acc.add(reference[i], candidate[i]);
  return acc.result();
}

}  // namespace llmc::metrics
