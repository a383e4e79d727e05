#include "llmc/compare/agreement.h"

#include <cmath>

#include <fmt/format.h>

#include "llmc/data/inputs.h"
#include "llmc/util/error.h"

namespace llmc::compare {

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

Agreement compare_outputs(const std::vector<c10::IValue>& reference,
                          const std::vector<c10::IValue>& candidate,
                          const recipe::TaskSpec& task) {
  LLMC_ASSERT(reference.size() == candidate.size(), "batch counts differ");
  Agreement result;
  double sum_abs = 0, dot = 0, norm_a = 0, norm_b = 0;
  int64_t label_same = 0, label_rows = 0;
  int64_t decisions_same = 0, decisions = 0;
  bool labels_measurable = true;
  for (size_t i = 0; i < reference.size(); ++i) {
    const auto ra = output_tensors(reference[i]);
    const auto cb = output_tensors(candidate[i]);
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
      result.identical = result.identical && ra[k].scalar_type() == cb[k].scalar_type() &&
                         at::equal(ra[k], cb[k]);
      const auto diff = (a - b).abs();
      result.max_abs_diff = std::max(result.max_abs_diff, diff.max().item<double>());
      sum_abs += diff.sum().item<double>();
      dot += (a * b).sum().item<double>();
      norm_a += (a * a).sum().item<double>();
      norm_b += (b * b).sum().item<double>();
      result.elements += a.numel();
    }
    if (!ra.empty() && ra[0].dim() == 3 && task.type == recipe::TaskKind::language_model &&
        ra[0].is_floating_point()) {
      // Next-token predictions agree, position by position.
      const auto a = ra[0].argmax(2);
      const auto b = cb[0].argmax(2);
      label_same += a.eq(b).sum().item<int64_t>();
      label_rows += a.numel();
    } else if (!ra.empty() && ra[0].dim() == 2 && ra[0].size(1) > 1 && ra[0].is_floating_point()) {
      const auto m = label_matches(ra[0].to(at::kFloat), cb[0].to(at::kFloat), task);
      label_same += m.rows_same;
      label_rows += m.rows;
      decisions_same += m.decisions_same;
      decisions += m.decisions;
    } else {
      labels_measurable = false;
    }
  }
  if (result.elements > 0) result.mean_abs_diff = sum_abs / static_cast<double>(result.elements);
  if (norm_a > 0 && norm_b > 0) {
    result.cosine = dot / (std::sqrt(norm_a) * std::sqrt(norm_b));
  } else {
    result.cosine = norm_a == norm_b ? 1.0 : 0.0;
  }
  if (labels_measurable && label_rows > 0) {
    result.label_agreement = static_cast<double>(label_same) / static_cast<double>(label_rows);
    if (decisions > 0) {
      result.decision_agreement = static_cast<double>(decisions_same) / static_cast<double>(decisions);
    }
  }
  return result;
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

metrics::MetricSet task_metrics(const std::vector<c10::IValue>& outputs,
                                const std::vector<at::Tensor>& labels,
                                const recipe::TaskSpec& task) {
  LLMC_ASSERT(outputs.size() == labels.size(), "one label tensor per batch");
  if (task.type == recipe::TaskKind::language_model) {
    double nll = 0;
    int64_t tokens = 0;
    for (size_t i = 0; i < outputs.size(); ++i) {
      const auto tensors = output_tensors(outputs[i]);
      if (tensors.empty()) throw InputError("", "the model returns no tensor");
      const auto [sum, n] = next_token_nll(tensors[0].detach(), labels[i]);
      nll += sum;
      tokens += n;
    }
    return metrics::language_model_metrics(nll, tokens);
  }
  std::vector<float> logits;
  std::vector<float> multi_hot;
  std::vector<int64_t> classes_of_rows;
  int64_t rows = 0, classes = -1;
  for (size_t i = 0; i < outputs.size(); ++i) {
    const auto tensors = output_tensors(outputs[i]);
    if (tensors.empty() || tensors[0].dim() != 2) {
      throw InputError("", "the task metric needs the model's first output to be logits "
                           "[batch, classes]");
    }
    const at::Tensor l = tensors[0].detach().to(at::kFloat).contiguous();
    if (classes >= 0 && l.size(1) != classes) throw InputError("", "logit widths differ by batch");
    classes = l.size(1);
    rows += l.size(0);
    logits.insert(logits.end(), l.data_ptr<float>(), l.data_ptr<float>() + l.numel());
    const at::Tensor y = labels[i];
    if (task.type == recipe::TaskKind::multi_label) {
      if (y.dim() != 2 || y.size(1) != classes) {
        throw InputError("", fmt::format("multi-label labels must be multi-hot lists of {} "
                                         "values (the model's output width)",
                                         classes));
      }
      const at::Tensor yf = y.to(at::kFloat).contiguous();
      multi_hot.insert(multi_hot.end(), yf.data_ptr<float>(), yf.data_ptr<float>() + yf.numel());
    } else {
      if (y.dim() != 1) {
        throw InputError("", "single-label labels must be one class index per sample");
      }
      const at::Tensor yl = y.to(at::kLong).contiguous();
      for (int64_t r = 0; r < yl.numel(); ++r) {
        const int64_t c = yl.data_ptr<int64_t>()[r];
        if (c < 0 || c >= classes) {
          throw InputError("", fmt::format("label {} does not fit the model's {} classes", c,
                                           classes));
        }
        classes_of_rows.push_back(c);
      }
    }
  }
  if (task.type == recipe::TaskKind::multi_label) {
    return metrics::multi_label_metrics(logits, multi_hot, rows, classes, task.threshold);
  }
  return metrics::single_label_metrics(logits, rows, classes, classes_of_rows);
}

}  // namespace llmc::compare
