#include "llmc/job/session.h"

#include <fmt/format.h>
#include <torch/version.h>

#include "llmc/gates/gates.h"
#include "llmc/model/inspect.h"
#include "llmc/util/huge_pages.h"
#include "llmc/util/log.h"
#include "llmc/util/progress.h"
#include "llmc/util/sha256.h"
#include "llmc_config.h"

namespace llmc::job {

std::vector<std::string> protected_paths(const recipe::CommonRecipe& common,
                                         const RunOptions& options) {
  std::vector<std::string> out = common.input_paths;
  // A CommonRecipe not made by parsing (tests, tools) still protects its model and data.
  out.push_back(common.model);
  if (common.data) {
    out.push_back(common.data->path);
    out.push_back(common.data->tokenizer);
  }
  out.push_back(options.recipe_path);
  return out;
}

util::MemoryNeed default_memory_need(const std::string& command,
                                     const recipe::CommonRecipe& common) {
  util::MemoryNeed need;
  need.weights = util::files_bytes({common.model});
  need.what = command + " holds two copies of the weights at its peak";
  return need;
}

std::optional<util::ThreadPool> thread_pool_of(const recipe::CommonRecipe& common) {
  switch (common.thread_pool) {
    case recipe::ThreadPoolKind::blas: return util::ThreadPool::blas;
    case recipe::ThreadPoolKind::libtorch: return util::ThreadPool::libtorch;
    case recipe::ThreadPoolKind::auto_pool: break;
  }
  return std::nullopt;
}

namespace {

util::ThreadSettings start_threads(const recipe::CommonRecipe& common) {
  const auto threads =
      util::configure_threads(static_cast<int>(common.threads), thread_pool_of(common));
  log::debug("threads: {}", threads.describe());
  return threads;
}

// The report as a run starts it; the memory check's warning (util::check_memory) comes first.
report::Report start_report(const std::string& command, const util::MemoryNeed& need,
                            const recipe::CommonRecipe& common, const RunOptions& options) {
  report::Report r;
  r.command = command;
  r.provenance.started_at = report::utc_now_iso8601();
  const std::string warning = util::check_memory(common.model, need, options.memory_check);
  if (!warning.empty()) {
    log::warn(warning);
    r.warnings.push_back(warning);
  }
  return r;
}

}  // namespace

Session::Session(const std::string& command, const util::MemoryNeed& need,
                 const recipe::CommonRecipe& common_recipe, const RunOptions& run_options)
    : common(common_recipe),
      options(run_options),
      pool(thread_pool_of(common_recipe)),
      threads(start_threads(common_recipe)),
      report(start_report(command, need, common_recipe, run_options)),
      out(common_recipe.output, run_options.force, protected_paths(common_recipe, run_options)) {}

void Session::finish(const std::vector<std::pair<std::string, std::string>>& extra_files) {
  auto& r = report;
  auto gate_results = gates::evaluate(common.gates, r);
  r.gates.insert(r.gates.end(), gate_results.begin(), gate_results.end());

  fill_provenance();
  util::write_file_atomic(out.file("report.json"), report::to_json(r).dump(2) + "\n");
  util::write_file_atomic(out.file("report.md"), report::to_markdown(r));
  for (const auto& [name, content] : extra_files) util::write_file_atomic(out.file(name), content);
  out.commit();
  log::info("wrote {}", common.output);
}

void Session::fill_provenance() {
  auto& p = report.provenance;
  p.llmc_version = LLMC_VERSION;
  p.libtorch_version = TORCH_VERSION;
  p.recipe_path = options.recipe_path;
  p.recipe_sha256 = options.recipe_path.empty() ? "" : util::sha256_file_hex(options.recipe_path);
  p.command_line = options.command_line;
  p.threads = threads.describe();
  p.intra_op_threads = threads.intra_op;
  p.huge_pages = util::huge_pages_status();
  p.machine = util::machine_info();
}

Original load_original(const recipe::CommonRecipe& common) {
  log::info("loading {}", common.model);
  Original o;
  o.model = model::load(common.model, &o.notes);
  o.inputs = load_inputs(common, o.model);
  return o;
}

void add_load_notes(const model::LoadNotes& notes, report::Report& r) {
  if (notes.sdpa_decomposed == 0 && notes.sdpa_left.empty()) return;
  util::Json sdpa = util::Json::object();
  sdpa["decomposed"] = notes.sdpa_decomposed;
  sdpa["mask_dtype_unknown"] = notes.sdpa_mask_dtype_unknown;
  r.details["scaled_dot_product_attention"] = sdpa;
  log::info("{} scaled_dot_product_attention calls (PyTorch 2.x attention) decomposed into "
            "matmul, softmax and matmul (pass decompose_sdpa)", notes.sdpa_decomposed);
  if (notes.sdpa_mask_dtype_unknown > 0) {
    r.warnings.push_back(fmt::format(
        "{} scaled_dot_product_attention calls have a mask whose dtype llmc could not tell "
        "from the model's code: they choose between the boolean and the additive form at run "
        "time (prim::If), which export-onnx cannot lower",
        notes.sdpa_mask_dtype_unknown));
  }
  for (const auto& left : notes.sdpa_left) {
    r.warnings.push_back("a scaled_dot_product_attention call was kept as it is: " + left);
  }
}

void describe_file(report::ModelSide& side, const std::string& shown, const std::string& file) {
  side.path = shown;
  side.file_bytes = bench::file_bytes(file);
  side.sha256 = util::sha256_file_hex(file);
}

void describe_weights(report::ModelSide& side, const torch::jit::Module& model) {
  const auto w = model::weight_stats(model);
  side.parameter_count = w.count;
  side.parameter_bytes = w.bytes;
}

void describe_inputs(report::Report& r, const Inputs& inputs) {
  r.inputs_source = inputs.agreement.source;
  r.input_rows = inputs.agreement.rows();
  r.latency_batch_rows = inputs.latency.rows;
}

void settle_pool(util::ThreadPool pool, const std::function<void()>& forward) {
  bool switched = false;
  util::use_pool(pool, &switched);
  if (switched) forward();
}

bench::LatencyStats time_runs(const std::string& label, const std::function<void()>& fn,
                              const recipe::BenchSpec& bench, int64_t rows) {
  log::Progress progress(label, bench.runs, log::ProgressUnit::count, "runs");
  const auto stats = bench::time_runs(fn, bench.warmup, bench.runs, rows,
                                      [&](int64_t done, int64_t) { progress.update(done); });
  progress.done();
  return stats;
}

bench::PairedLatency time_alternating(const std::string& label, const std::function<void()>& a,
                                      const std::function<void()>& b,
                                      const recipe::BenchSpec& bench, int64_t rows,
                                      const std::vector<std::function<void()>>& before) {
  log::Progress progress(label, bench.runs, log::ProgressUnit::count, "runs");
  const auto timing = bench::time_alternating(
      a, b, bench.warmup, bench.runs, rows,
      [&](int64_t done, int64_t) { progress.update(done); }, before);
  progress.done();
  return timing;
}

}  // namespace llmc::job
