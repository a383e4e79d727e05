#include "llmc/distill/qat.h"

#include <cmath>
#include <set>

#include <fmt/format.h>

#include "llmc/metrics/metric_accumulator.h"
#include "llmc/model/compute_profile.h"
#include "llmc/model/forward.h"
#include "llmc/quantize/quantize.h"
#include "llmc/util/log.h"

namespace llmc::distill {

namespace {

using util::Json;

double round4(double v) { return std::round(v * 1e4) / 1e4; }

std::string layer_name(const passes::FakeQuantizedLinear& l) {
  return l.module.empty() ? l.weight : l.module + "." + l.weight;
}

}  // namespace

QatStudent::QatStudent(const torch::jit::Module& student, const QatOptions& options)
    : options_(options), module_(student.clone(/*inplace=*/true)),
      averaging_(at::zeros({}, at::kFloat)) {
  passes::FakeQuantizeLinearOptions o;
  o.per_channel = options.per_channel;
  o.activations = options.activations;
  o.averaging = averaging_;
  rewrite_ = passes::fake_quantize_linear(module_, o);
  // New attributes and rewritten graphs: fresh methods, so no executor compiled before runs.
  module_ = module_.clone(/*inplace=*/true);
  module_.train(student.is_training());
}

void QatStudent::before_training_batch(int64_t epoch) {
  if (!options_.activations) return;
  double c = options_.observer_averaging;
  if (!observed_) c = 1.0;  // the first batch sets the range
  else if (options_.freeze_observers_epoch > 0 && epoch >= options_.freeze_observers_epoch) c = 0;
  averaging_.fill_(c);
  observed_ = true;
}

void QatStudent::before_evaluation() { averaging_.fill_(0.0); }

Json QatStudent::activation_ranges() const {
  Json rows = Json::array();
  if (!options_.activations) return rows;
  for (const auto& l : rewrite_.layers) {
    Json r = Json::object();
    r["layer"] = layer_name(l);
    r["min"] = round4(l.act_min.item<double>());
    r["max"] = round4(l.act_max.item<double>());
    rows.push_back(r);
  }
  return rows;
}

Json qat_coverage(const torch::jit::Module& student,
                  const passes::FakeQuantizeLinearResult& rewrite,
                  std::vector<std::string>& warnings) {
  std::set<std::string> quantized;
  for (const auto& l : rewrite.layers) quantized.insert(layer_name(l));
  int64_t total = 0, fake = 0, vectors = 0;
  Json left = Json::array();
  std::vector<std::pair<std::string, int64_t>> matrices;
  for (const auto& p : student.named_parameters(/*recurse=*/true)) {
    const int64_t n = p.value.numel();
    total += n;
    if (quantized.count(p.name)) {
      fake += n;
    } else if (p.value.dim() >= 2) {
      matrices.emplace_back(p.name, n);
    } else {
      vectors += n;
    }
  }
  const double all = static_cast<double>(std::max<int64_t>(1, total));
  std::vector<std::string> names;
  for (const auto& [name, n] : matrices) {
    Json row = Json::object();
    row["parameter"] = name;
    row["elements"] = n;
    row["share"] = round4(static_cast<double>(n) / all);
    left.push_back(row);
    names.push_back(fmt::format("{} ({:.1f} %)", name, 100.0 * static_cast<double>(n) / all));
  }
  Json c = Json::object();
  c["fake_quantized_layers"] = static_cast<int64_t>(rewrite.layers.size());
  c["fake_quantized_share"] = round4(static_cast<double>(fake) / all);
  c["float_matrices"] = left;
  c["float_vectors_share"] = round4(static_cast<double>(vectors) / all);
  Json skipped = Json::array();
  for (const auto& l : rewrite.left) skipped.push_back(l.site + ": " + l.reason);
  c["linear_ops_left"] = skipped;
  if (!names.empty()) {
    warnings.push_back(fmt::format(
        "qat: {} of the student's parameters are Linear weights trained with fake quantization; "
        "these matrices stay float32 in training (embeddings, tied or Conv1D weights): {}",
        fmt::format("{:.1f} %", 100.0 * static_cast<double>(fake) / all),
        fmt::join(names, ", ")));
  }
  for (const auto& l : rewrite.left) {
    warnings.push_back("qat: left in float: " + l.site + ": " + l.reason);
  }
  for (const auto& w : warnings) log::warn("{}", w);
  return c;
}

quantize::QuantizeOptions conversion_options(const DistillOptions& options,
                                             quantize::Scheme scheme) {
  const QatOptions& q = *options.qat;
  quantize::QuantizeOptions o;
  o.scheme = scheme;
  o.per_channel = q.per_channel;
  o.calibration_batches = q.calibration_batches;
  if (scheme == quantize::Scheme::static_int8) o.calibration_data = options.train_data;
  o.origin = q.origin;
  return o;
}

job::TransformResult quantize_as_llmc_quantize(const torch::jit::Module& student,
                                               const quantize::QuantizeOptions& options,
                                               const job::TransformInput& in) {
  torch::jit::Module copy = student.clone();  // quantize may fold scales into the weights
  copy.eval();
  return quantize::quantize_job(options).transform(copy, in);
}

namespace {

std::string scheme_name(quantize::Scheme s) {
  return s == quantize::Scheme::static_int8 ? "static-int8" : "dynamic-int8";
}

// The task metric of `model` on the evaluation data and its latency on the latency batch.
Json measure(const std::string& label, torch::jit::Module model, const std::string& metric,
             const job::TransformInput& in) {
  // Its pool from its first forward on (oneDNN's int8 kernels keep their first thread count).
  const util::ThreadPool pool = model::use_pool_for(model);
  metrics::MetricAccumulator acc(in.common.task);
  for (const auto& b : in.inputs.batches) {
    acc.add(model::run_forward(model, b, label), b);
  }
  const auto stats = job::time_runs("timing " + label, [&] {
    model::run_forward(model, in.latency_batch, label);
  }, in.common.bench, in.latency_batch.rows);
  Json row = Json::object();
  row["model"] = label;
  row[metric] = round4(acc.result().value(metric));
  row["p50_ms"] = round4(stats.p50_ms);
  row["thread_pool"] = util::pool_name(pool);
  return row;
}

}  // namespace

QatComparison compare_with_ptq(const DistillRecipe& recipe, const torch::jit::Module& best,
                               const torch::jit::Module& before, const std::string& metric,
                               const job::TransformInput& in) {
  const auto& o = recipe.distill;
  const quantize::Scheme scheme = o.qat->scheme;
  QatComparison c;
  log::info("qat: converting the student to {} as `llmc quantize` does", scheme_name(scheme));
  c.conversion = quantize_as_llmc_quantize(best, conversion_options(o, scheme), in);
  c.artifact = c.conversion.artifact;
  c.conversion.artifact = torch::jit::Module();
  log::info("qat: post-training static-int8 and dynamic-int8 of the student before QAT");
  job::TransformResult ptq_static =
      quantize_as_llmc_quantize(before, conversion_options(o, quantize::Scheme::static_int8), in);
  job::TransformResult ptq_dynamic =
      quantize_as_llmc_quantize(before, conversion_options(o, quantize::Scheme::dynamic_int8), in);

  torch::jit::Module before_eval = before;
  before_eval.eval();
  torch::jit::Module best_eval = best;
  best_eval.eval();
  std::vector<Json> rows{
      measure("float student before QAT", before_eval, metric, in),
      measure("float student after QAT (student-float.pt)", best_eval, metric, in),
      measure("QAT " + scheme_name(scheme) + " (model.pt)", c.artifact, metric, in),
      measure("PTQ static-int8 of the student before QAT", ptq_static.artifact, metric, in),
      measure("PTQ dynamic-int8 of the student before QAT", ptq_dynamic.artifact, metric, in)};
  // drop: against the float student before QAT (what a user had); drop_vs_own_float: against
  // the float model each was made from (QAT int8: the student after QAT; PTQ: before), which
  // separates quantization's cost from the effect of the extra training epochs.
  const bool higher = higher_is_better(metric);
  auto drop = [&](const Json& from, const Json& to) {
    const double a = from.at(metric).as_double();
    const double b = to.at(metric).as_double();
    return round4(higher ? a - b : b - a);
  };
  const size_t own_float[] = {0, 1, 1, 0, 0};
  for (size_t i = 0; i < rows.size(); ++i) {
    rows[i]["drop"] = drop(rows[0], rows[i]);
    rows[i]["drop_vs_own_float"] = drop(rows[own_float[i]], rows[i]);
    c.table.push_back(rows[i]);
  }
  return c;
}

}  // namespace llmc::distill
