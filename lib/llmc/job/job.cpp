#include "llmc/job/job.h"

#include <filesystem>

#include <fmt/format.h>

#include "llmc/bench/measure.h"
#include "llmc/bench/memory_probe.h"
#include "llmc/metrics/agreement.h"
#include "llmc/metrics/metric_accumulator.h"
#include "llmc/model/compute_profile.h"
#include "llmc/model/load.h"
#include "llmc/passes/conv1d_to_linear.h"
#include "llmc/util/error.h"
#include "llmc/util/huge_pages.h"
#include "llmc/util/log.h"
#include "llmc/util/progress.h"

namespace llmc::job {

c10::IValue run_result_forward(torch::jit::Module& result, const data::Batch& batch,
                               const std::string& original_path, const std::string& command) {
  try {
    return model::run_forward(result, batch, original_path);
  } catch (const InputError& e) {
    // The original ran on these inputs: the failure is the transformation's, not the inputs'.
    const std::string what = e.what();
    const std::string marker = "forward failed on the measurement inputs: ";
    const auto at = what.find(marker);
    const std::string cause = at == std::string::npos ? what : what.substr(at + marker.size());
    throw InputError(original_path,
                     fmt::format("the {} result fails to run on inputs the original model runs "
                                 "on: {}",
                                 command, cause),
                     "an operator of this model does not work after the transformation (for "
                     "example in bf16); run with -v for the model's traceback, and exclude the "
                     "layer or choose another scheme");
  }
}

data::InputSet calibration_batches(const torch::jit::Module& model,
                                   const std::optional<recipe::DataSpec>& spec, int64_t count,
                                   const TransformInput& in) {
  data::InputSet set =
      spec ? data::make_batches(read_checked_samples(*spec, in.common.task.type, model,
                                                     in.common.model),
                                spec->batch_size)
           : data::InputSet{in.inputs.batches, in.inputs.source};
  if (static_cast<int64_t>(set.batches.size()) > count) set.batches.resize(static_cast<size_t>(count));
  return set;
}

void canonicalize_matrix_layers(torch::jit::Module& model, TransformResult& t) {
  const auto r = passes::conv1d_to_linear(model);
  if (r.changed > 0) {
    util::Json names = util::Json::array();
    for (const auto& n : r.sites) names.push_back(n);
    t.details["conv1d_as_linear"] = names;
    log::info("{} Conv1D layers (weight [in, out], addmm) treated as Linear layers", r.changed);
  }
  for (const auto& s : r.left) {
    t.warnings.push_back("a Conv1D layer was left as it is, so it is not quantized or pruned: " +
                         s.site + ": " + s.reason);
  }
}

namespace {

// With -v: this process's resident and peak memory after a step of the run (where a large
// model's copies come from).
void log_memory(const char* step) {
  log::debug("memory after {}: resident {:.0f} MiB (freed blocks kept for reuse {:.0f} MiB), "
             "peak {:.0f} MiB",
             step, static_cast<double>(bench::current_rss_bytes()) / (1 << 20),
             static_cast<double>(util::cached_memory_bytes()) / (1 << 20),
             static_cast<double>(bench::peak_rss_bytes()) / (1 << 20));
}

}  // namespace

report::Report run(const Job& job, const recipe::CommonRecipe& common, const RunOptions& options) {
  Session s(job.command,
            job.memory_need ? job.memory_need(common) : default_memory_need(job.command, common),
            common, options);
  report::Report& r = s.report;

  Original loaded = load_original(common);
  log_memory("loading the model");
  const Inputs& inputs = loaded.inputs;
  const TransformInput tin{common, inputs.agreement, inputs.latency,
                           inputs.samples ? &*inputs.samples : nullptr};

  const util::ThreadPool original_pool = model::use_pool_for(loaded.model);
  log::info("running {}", job.command);
  TransformResult t = job.transform(std::move(loaded.model), tin);
  loaded.model = torch::jit::Module();  // the transform's own copies hold what it still needs
  log_memory(job.command.c_str());

  // Memory: a large model is never held more than twice (artifact and reference). The artifact
  // is streamed to disk and dropped; it is measured as reloaded from the file, as a user will
  // load it. The reference stays in memory only when the transform made it (e.g. eval-freeze's
  // original in eval mode, which shares the artifact's tensors); it is written to a file of its
  // own for the memory probe.
  const std::string artifact_path = s.out.file("model.pt");
  model::save(t.artifact, artifact_path);
  t.artifact = torch::jit::Module();
  const std::string original_path = t.reference_path.empty() ? common.model : t.reference_path;
  std::string reference_file = original_path;
  const bool transform_made_reference = t.reference.has_value();
  if (transform_made_reference) {
    // Written for the memory probe, and reloaded from it below like the artifact, so that
    // nothing of the transform (its copies, the graphs it rewrote) stays in memory beside them.
    reference_file = s.out.file(".reference.pt");
    model::save(*t.reference, reference_file);
    t.reference.reset();
  }
  // The transform's freed temporaries go back to the system before two models are reloaded.
  util::release_cached_memory();
  log_memory("saving the artifact");
  // Peak memory of each model in its own process (before this one loads the artifact).
  std::string note;
  const int probe_threads = static_cast<int>(common.threads);
  if (common.bench.memory) {
    log::Progress probing("measuring memory", 2, log::ProgressUnit::count, "models");
    probing.update(0);
    r.original.memory = bench::measure_model_memory(reference_file, inputs.latency,
                                                    probe_threads, s.pool, t.quantized_engine,
                                                    note);
    probing.update(1);
    r.result.memory = bench::measure_model_memory(artifact_path, inputs.latency, probe_threads,
                                                  s.pool, t.quantized_engine, note);
  }
  log_memory("measuring memory");

  torch::jit::Module artifact = model::load(artifact_path);
  torch::jit::Module reference = model::load(reference_file);
  if (transform_made_reference) {
    std::filesystem::remove(reference_file);
  } else {
    reference.eval();
  }
  log_memory("reloading artifact and reference");

  describe_file(r.original, original_path, original_path);
  describe_file(r.result, (std::filesystem::path(common.output) / "model.pt").string(),
                artifact_path);
  describe_weights(r.original, reference);
  describe_weights(r.result, artifact);
  r.details = std::move(t.details);
  r.warnings.insert(r.warnings.end(), t.warnings.begin(), t.warnings.end());
  add_load_notes(loaded.notes, r);
  describe_inputs(r, inputs);

  // Each model runs with the pool it runs best in (thread_pool: auto), as it would be served,
  // from its first forward on: LibTorch's oneDNN int8 kernels keep the thread count of their
  // first run.
  const util::ThreadPool reference_pool =
      transform_made_reference ? model::pool_for(reference) : original_pool;
  const util::ThreadPool artifact_pool = model::pool_for(artifact);
  log::info("comparing outputs on {} rows", r.input_rows);
  // Batch by batch, keeping no outputs: a language model's logits over the data would not fit.
  metrics::AgreementAccumulator agreement(common.task);
  metrics::MetricAccumulator original_metric(common.task), result_metric(common.task);
  const bool metrics = common.task.type != recipe::TaskKind::none;
  log::Progress comparing("comparing outputs",
                          static_cast<int64_t>(inputs.agreement.batches.size()),
                          log::ProgressUnit::count, "batches");
  int64_t compared = 0;
  comparing.update(compared);
  for (const auto& batch : inputs.agreement.batches) {
    util::use_pool(reference_pool);
    const c10::IValue ref_out = model::run_forward(reference, batch, original_path);
    util::use_pool(artifact_pool);
    const c10::IValue res_out = run_result_forward(artifact, batch, common.model, job.command);
    agreement.add(ref_out, res_out);
    if (metrics) {
      original_metric.add(ref_out, batch);
      result_metric.add(res_out, batch);
    }
    comparing.update(++compared);
  }
  comparing.done();
  r.agreement = agreement.result();
  log_memory("comparing outputs");
  if (metrics) {
    r.original.metrics = original_metric.result();
    r.result.metrics = result_metric.result();
  }

  util::use_pool(artifact_pool);
  if (job.verify) job.verify(artifact, tin, r);

  log::info("timing {} runs each (batch of {} rows, {} thread(s): original {}, result {})",
            common.bench.runs, inputs.latency.rows, util::thread_plan().threads,
            util::pool_name(reference_pool), util::pool_name(artifact_pool));
  const auto run_reference = [&] { model::run_forward(reference, inputs.latency, original_path); };
  const auto run_artifact = [&] {
    run_result_forward(artifact, inputs.latency, common.model, job.command);
  };
  const auto timing = time_alternating(
      "timing", run_reference, run_artifact, common.bench, inputs.latency.rows,
      {[&] { settle_pool(reference_pool, run_reference); },
       [&] { settle_pool(artifact_pool, run_artifact); }});
  log_memory("timing");
  r.original.latency = timing.a;
  r.result.latency = timing.b;
  r.original.latency->thread_pool = util::pool_name(reference_pool);
  r.result.latency->thread_pool = util::pool_name(artifact_pool);
  if (common.bench.memory && !note.empty()) {
    // No probe process here: both models measured in this one (the report's `isolated` says
    // not per model).
    r.warnings.push_back(note);
    r.original.memory = bench::measure_memory(
        [&] { model::run_forward(reference, inputs.latency, original_path); });
    r.result.memory = bench::measure_memory(
        [&] { run_result_forward(artifact, inputs.latency, common.model, job.command); });
    r.original.memory->isolated = false;
    r.result.memory->isolated = false;
  }

  s.finish(t.extra_files);
  if (t.after_commit) t.after_commit();
  return r;
}

}  // namespace llmc::job
