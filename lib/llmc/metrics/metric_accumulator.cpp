#include "llmc/metrics/metric_accumulator.h"

#include <cmath>

#include <fmt/format.h>

#include "llmc/metrics/agreement.h"  // output_tensors
#include "llmc/util/error.h"

namespace llmc::metrics {

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
