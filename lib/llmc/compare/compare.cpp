#include "llmc/compare/compare.h"

#include <algorithm>
#include <numeric>
#include <optional>

#include <fmt/format.h>

#include "llmc/bench/memory_probe.h"
#include "llmc/compare/figures.h"
#include "llmc/compare/onnx_rows.h"
#include "llmc/gates/gates.h"
#include "llmc/metrics/agreement.h"
#include "llmc/metrics/metric_accumulator.h"
#include "llmc/job/session.h"
#include "llmc/model/compute_profile.h"
#include "llmc/model/forward.h"
#include "llmc/model/inspect.h"
#include "llmc/model/load.h"
#include "llmc/onnx/ort.h"
#include "llmc/quantize/engine.h"
#include "llmc/util/error.h"
#include "llmc/util/log.h"
#include "llmc/util/memory_budget.h"
#include "llmc/util/progress.h"
#include "llmc/util/sha256.h"

namespace llmc::compare {

namespace {

// The batch latency and memory are measured on: the example inputs when the recipe gives them,
// else the first `batch_size` rows of the data.
data::Batch latency_batch(const recipe::CommonRecipe& common, const job::Inputs& inputs,
                          int64_t batch_size) {
  if (!common.example_inputs.empty() || !inputs.samples) return inputs.latency;
  const int64_t n = std::min<int64_t>(batch_size, inputs.samples->size());
  std::vector<int64_t> rows(static_cast<size_t>(n));
  std::iota(rows.begin(), rows.end(), int64_t{0});
  return data::make_batch(*inputs.samples, rows);
}

// The first row of the first output tensor, as the softmax panel's logits.
std::vector<double> first_row_logits(const c10::IValue& output) {
  const auto tensors = metrics::output_tensors(output);
  if (tensors.empty() || tensors.front().dim() < 2) return {};
  at::Tensor row = tensors.front().detach().to(at::kDouble);
  while (row.dim() > 1) row = row[0];
  return std::vector<double>(row.data_ptr<double>(), row.data_ptr<double>() + row.numel());
}

void fill_cost(report::Report& r, const CostSpec& spec) {
  util::Json c = util::Json::object();
  c["currency"] = spec.currency;
  c["hardware_per_hour"] = spec.hardware_per_hour;
  c["requests_per_month"] = spec.requests_per_month;
  c["rows_per_request"] = spec.rows_per_request;
  c["formula"] = "monthly_cost = requests_per_month x rows_per_request / (throughput_per_s x "
                 "3600) x hardware_per_hour";
  if (const auto api = api_monthly_cost(spec)) {
    c["tokens_per_request"] = spec.tokens_per_request;
    c["api_price_per_1k_tokens"] = *spec.api_price_per_1k_tokens;
    c["api_calls_per_request"] = spec.api_calls_per_request;
    c["api_monthly_cost"] = *api;
    c["api_formula"] = "api_monthly_cost = requests_per_month x api_calls_per_request x "
                       "tokens_per_request / 1000 x api_price_per_1k_tokens";
  }
  r.details["cost"] = c;
  for (auto& m : r.models) {
    if (!m.side.latency) continue;
    if (const auto e = serving_cost(spec, m.side.latency->throughput)) {
      m.busy_hours = e->busy_hours;
      m.monthly_cost = e->monthly_cost;
    }
  }
}

}  // namespace

report::Report run_compare(const CompareRecipe& recipe, const job::RunOptions& options) {
  const auto& common = recipe.common;
  const auto& o = recipe.compare;
  const size_t ref = recipe.reference_index;
  std::string engine;
  if (o.quantized_engine != QuantizedEngine::as_loaded) {
    const auto e = o.quantized_engine == QuantizedEngine::onednn ? quantize::Engine::onednn
                                                                 : quantize::Engine::qnnpack;
    if (std::string why = quantize::engine_unavailable(e); !why.empty()) o.engine_origin.fail(why);
    at::globalContext().setQEngine(e == quantize::Engine::onednn ? at::QEngine::ONEDNN
                                                                 : at::QEngine::QNNPACK);
    engine = quantize::engine_name(e);
  }

  // Every TorchScript model is held in memory once, for the whole run.
  std::vector<std::string> torchscript_paths;
  for (const auto& m : o.models) {
    if (m.format() == ModelFormat::torchscript) torchscript_paths.push_back(m.path);
  }
  util::MemoryNeed need;
  need.weights = util::files_bytes(torchscript_paths);
  need.min_copies = 1;
  need.usual_copies = 1.5;
  need.what = "compare holds every TorchScript model once";
  // The recipe's gates are checked per model against the reference below, not by the session.
  recipe::CommonRecipe per_model_gates = common;
  per_model_gates.gates = {};
  job::Session session("compare", need, per_model_gates, options);
  report::Report& r = session.report;
  const auto pool = session.pool;
  const auto& threads = session.threads;
  if (!engine.empty()) r.details["quantized_engine"] = engine;
  // The distill reports are read first: a wrong file fails before any model is loaded.
  util::Json curves = util::Json::array();
  for (const auto& m : o.models) {
    if (m.distill_report.empty()) continue;
    for (auto& row : distill_history_rows(m.name, m.distill_report)) curves.push_back(row);
  }

  log::info("loading the reference {}", common.model);
  model::LoadNotes notes;
  torch::jit::Module reference = model::load(common.model, &notes);
  reference.eval();
  job::add_load_notes(notes, r);
  const job::Inputs inputs = job::load_inputs(common, reference);
  const data::Batch latency = latency_batch(common, inputs, o.batch_size);
  const auto forward_args = model::forward_argument_names(reference);

  // Peak memory of each TorchScript model in a process of its own, before this one loads them.
  const size_t n = o.models.size();
  r.models.resize(n);
  std::string probe_note;
  if (common.bench.memory) {
    log::Progress probing("measuring memory", static_cast<int64_t>(torchscript_paths.size()),
                          log::ProgressUnit::count, "models");
    int64_t probed = 0;
    for (size_t i = 0; i < n; ++i) {
      if (o.models[i].format() != ModelFormat::torchscript) continue;
      r.models[i].side.memory = bench::measure_model_memory(
          o.models[i].path, latency, static_cast<int>(common.threads), pool, engine, probe_note);
      probing.update(++probed);
    }
    probing.done();
    if (!probe_note.empty()) r.warnings.push_back(probe_note);
  }

  std::vector<std::optional<torch::jit::Module>> modules(n);
  std::vector<std::optional<OnnxRow>> onnx_rows(n);
  const std::string runner =
      std::any_of(o.models.begin(), o.models.end(),
                  [](const ModelEntry& m) { return m.format() == ModelFormat::onnx; })
          ? onnx::find_ort_runner(o.onnx_runner)
          : "";
  for (size_t i = 0; i < n; ++i) {
    const auto& entry = o.models[i];
    auto& m = r.models[i];
    m.name = entry.name;
    m.reference = i == ref;
    m.side.path = entry.path;
    m.side.sha256 = util::sha256_file_hex(entry.path);
    m.side.file_bytes = bench::file_bytes(entry.path);
    if (entry.format() == ModelFormat::onnx) {
      onnx_rows[i] = run_onnx_row(entry.path, runner, forward_args, inputs.agreement.batches,
                                  latency, common.bench, static_cast<int>(common.threads));
      const auto& row = *onnx_rows[i];
      m.runtime = row.runtime;
      m.side.file_bytes += row.info.external_data_bytes;
      m.side.parameter_count = row.info.parameter_count;
      m.side.parameter_bytes = row.info.parameter_bytes;
      m.side.latency = row.latency;
      m.side.memory = row.memory;
      continue;
    }
    if (i == ref) {
      modules[i] = reference;
    } else {
      log::info("loading {}", entry.path);
      modules[i] = model::load(entry.path);
      modules[i]->eval();
    }
    const auto w = model::weight_stats(*modules[i]);
    m.side.parameter_count = w.count;
    m.side.parameter_bytes = w.bytes;
  }
  r.inputs_source = inputs.agreement.source;
  r.input_rows = inputs.agreement.rows();
  r.latency_batch_rows = latency.rows;

  // Each model runs with the pool it runs best in (thread_pool: auto), as it would be served,
  // from its first forward on: LibTorch's oneDNN int8 kernels keep the thread count of their
  // first run.
  std::vector<util::ThreadPool> pools(n, util::ThreadPool::blas);
  for (size_t i = 0; i < n; ++i) {
    if (modules[i]) pools[i] = model::pool_for(*modules[i]);
  }
  pools[ref] = model::pool_for(reference);

  // Outputs batch by batch, none kept: each model against the reference.
  log::info("comparing {} models on {} rows", n, r.input_rows);
  const bool with_metrics = common.task.type != recipe::TaskKind::none;
  std::vector<metrics::AgreementAccumulator> agreement(n, metrics::AgreementAccumulator(common.task));
  std::vector<metrics::MetricAccumulator> metric(n, metrics::MetricAccumulator(common.task));
  std::vector<double> softmax_logits;
  const auto& batches = inputs.agreement.batches;
  log::Progress comparing("comparing outputs", static_cast<int64_t>(batches.size()),
                          log::ProgressUnit::count, "batches");
  for (size_t b = 0; b < batches.size(); ++b) {
    util::use_pool(pools[ref]);
    const c10::IValue ref_out = model::run_forward(reference, batches[b], common.model);
    if (b == 0 && o.temperature) softmax_logits = first_row_logits(ref_out);
    for (size_t i = 0; i < n; ++i) {
      c10::IValue output = ref_out;
      if (onnx_rows[i]) {
        output = metrics::output_like(ref_out, onnx_rows[i]->outputs.at(b));
      } else if (i != ref) {
        util::use_pool(pools[i]);
        output = model::run_forward(*modules[i], batches[b], o.models[i].path);
      }
      if (i != ref) agreement[i].add(ref_out, output);
      if (with_metrics) metric[i].add(output, batches[b]);
    }
    comparing.update(static_cast<int64_t>(b) + 1);
  }
  comparing.done();
  for (size_t i = 0; i < n; ++i) {
    if (i != ref) r.models[i].agreement = agreement[i].result();
    if (with_metrics) r.models[i].side.metrics = metric[i].result();
  }
  for (auto& row : onnx_rows) {
    if (row) row->outputs.clear();
  }

  // Latency: the TorchScript models round robin, run by run, on the same batch.
  std::vector<size_t> timed;
  std::vector<std::function<void()>> runs, before;
  for (size_t i = 0; i < n; ++i) {
    if (!modules[i]) continue;
    timed.push_back(i);
    runs.push_back([&, i] { model::run_forward(*modules[i], latency, o.models[i].path); });
    before.push_back([&, i, k = runs.size() - 1] { job::settle_pool(pools[i], runs[k]); });
  }
  log::info("timing {} runs each of {} models (batch of {} rows, {})", common.bench.runs,
            runs.size(), latency.rows, threads.describe());
  log::Progress timing("timing", common.bench.runs, log::ProgressUnit::count, "rounds");
  const auto latencies = bench::time_round_robin(
      runs, common.bench.warmup, common.bench.runs, latency.rows,
      [&](int64_t done, int64_t) { timing.update(done); }, before);
  timing.done();
  for (size_t k = 0; k < timed.size(); ++k) {
    r.models[timed[k]].side.latency = latencies[k];
    r.models[timed[k]].side.latency->thread_pool = util::pool_name(pools[timed[k]]);
  }

  // Each model against the reference: ratios and the recipe's gates, named after the model.
  for (size_t i = 0; i < n; ++i) {
    if (i == ref) continue;
    report::Report pair;
    pair.original = r.models[ref].side;
    pair.result = r.models[i].side;
    pair.agreement = r.models[i].agreement;
    r.models[i].speedup = pair.speedup();
    r.models[i].size_ratio = pair.size_ratio();
    r.models[i].metric_drop = pair.metric_drop();
    for (auto g : gates::evaluate(common.gates, pair)) {
      g.name = r.models[i].name + ": " + g.name;
      r.gates.push_back(std::move(g));
    }
  }

  r.details["reference"] = r.models[ref].name;
  r.details["latency_batch_rows"] = latency.rows;
  r.details["timing"] = "TorchScript models timed round robin in this process, run by run; "
                        "ONNX files in ONNX Runtime's process of their own";
  if (o.cost) fill_cost(r, *o.cost);
  if (curves.size() > 0) r.details["learning_curves"] = curves;
  if (o.temperature && !softmax_logits.empty()) {
    r.details["softmax"] = softmax_panel(softmax_logits, *o.temperature, r.models[ref].name,
                                         batches.front().row_location(0));
  }

  session.fill_provenance();  // report.html shows it
  const std::string html = report::to_html(r);
  session.finish({{"report.html", html}});
  return r;
}

}  // namespace llmc::compare
