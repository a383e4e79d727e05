#include "llmc/metrics/agreement.h"

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
    const auto a = ra[k].detach().to(at::kDouble).flatten();
    const auto b = cb[k].detach().to(at::kDouble).flatten();
    if (a.numel() == 0) continue;
    result_.identical = result_.identical && ra[k].scalar_type() == cb[k].scalar_type() &&
                        at::equal(ra[k], cb[k]);
    const auto diff = (a - b).abs();
    result_.max_abs_diff = std::max(result_.max_abs_diff, diff.max().item<double>());
    sum_abs_ += diff.sum().item<double>();
    dot_ += (a * b).sum().item<double>();
    norm_a_ += (a * a).sum().item<double>();
    norm_b_ += (b * b).sum().item<double>();
    result_.elements += a.numel();
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

std::pair<double, int64_t> next_token_nll(const at::Tensor& logits, const at::Tensor& labels) {
  if (logits.dim() != 3 || labels.dim() != 2 || logits.size(0) != labels.size(0) ||
      logits.size(1) != labels.size(1)) {
    std::ostringstream msg;
    msg << "a language model's logits must be [batch, sequence, vocab] matching its input ids "
        << labels.sizes() << "; got " << logits.sizes();
    throw InputError("", msg.str());
  }
  const auto vocab = logits.size(2);
  const at::Tensor targets = labels.slice(1, 1).reshape({-1});
  const at::Tensor valid = targets.ne(data::kIgnoreIndex);
  const at::Tensor in_vocab = targets.lt(vocab).logical_or(valid.logical_not());
  if (!in_vocab.all().item<bool>()) {
    throw InputError("", fmt::format("a token id ({}) is not below the model's vocabulary size {}",
                                     targets.masked_select(valid).max().item<int64_t>(), vocab));
  }
  const at::Tensor nll = at::cross_entropy_loss(
      logits.slice(1, 0, -1).reshape({-1, vocab}).to(at::kFloat), targets, {},
      at::Reduction::Sum, data::kIgnoreIndex);
  return {nll.item<double>(), valid.sum().item<int64_t>()};
}

MetricAccumulator::MetricAccumulator(recipe::TaskSpec task) : task_(std::move(task)) {}

void MetricAccumulator::add(const c10::IValue& output, const at::Tensor& y) {
  add(output, y, nullptr);
}

void MetricAccumulator::add(const c10::IValue& output, const data::Batch& batch) {
  add(output, batch.labels, &batch);
}

void MetricAccumulator::add(const c10::IValue& output, const at::Tensor& y,
                            const data::Batch* batch) {
  const auto where = [batch](int64_t row) { return batch ? batch->row_location(row) : ""; };
  const auto tensors = output_tensors(output);
  if (task_.type == recipe::TaskKind::language_model) {
    if (tensors.empty()) throw InputError("", "the model returns no tensor");
    const auto [sum, n] = next_token_nll(tensors[0].detach(), y);
    nll_ += sum;
    tokens_ += n;
    return;
  }
  if (tensors.empty() || tensors[0].dim() != 2) {
    throw InputError("", "the task metric needs the model's first output to be logits "
                         "[batch, classes]");
  }
  const at::Tensor l = tensors[0].detach().to(at::kFloat).contiguous();
  if (classes_ >= 0 && l.size(1) != classes_) throw InputError("", "logit widths differ by batch");
  classes_ = l.size(1);
  rows_ += l.size(0);
  logits_.insert(logits_.end(), l.data_ptr<float>(), l.data_ptr<float>() + l.numel());
  if (task_.type == recipe::TaskKind::multi_label) {
    if (y.dim() != 2 || y.size(1) != classes_) {
      throw InputError(where(0), fmt::format("multi-label labels must be multi-hot lists of {} "
                                             "values (the model's output width){}",
                                             classes_,
                                             y.dim() == 2 ? fmt::format(", not {}", y.size(1))
                                                          : std::string()));
    }
    const at::Tensor yf = y.to(at::kFloat).contiguous();
    multi_hot_.insert(multi_hot_.end(), yf.data_ptr<float>(), yf.data_ptr<float>() + yf.numel());
    return;
  }
  if (y.dim() != 1) {
    throw InputError(where(0), "single-label labels must be one class index per sample");
  }
  const at::Tensor yl = y.to(at::kLong).contiguous();
  for (int64_t r = 0; r < yl.numel(); ++r) {
    const int64_t c = yl.data_ptr<int64_t>()[r];
    if (c < 0 || c >= classes_) {
      throw InputError(where(r), fmt::format("label {} does not fit the model's {} classes (0-{})",
                                             c, classes_, classes_ - 1));
    }
    classes_of_rows_.push_back(c);
  }
}

metrics::MetricSet MetricAccumulator::result() const {
  if (task_.type == recipe::TaskKind::language_model) {
    return metrics::language_model_metrics(nll_, tokens_);
  }
  if (task_.type == recipe::TaskKind::multi_label) {
    return metrics::multi_label_metrics(logits_, multi_hot_, rows_, classes_, task_.threshold);
  }
  return metrics::single_label_metrics(logits_, rows_, classes_, classes_of_rows_);
}

metrics::MetricSet task_metrics(const std::vector<c10::IValue>& outputs,
                                const std::vector<at::Tensor>& labels,
                                const recipe::TaskSpec& task) {
  LLMC_ASSERT(outputs.size() == labels.size(), "one label tensor per batch");
  MetricAccumulator acc(task);
  for (size_t i = 0; i < outputs.size(); ++i) acc.add(outputs[i], labels[i]);
  return acc.result();
}

}  // namespace llmc::metrics
