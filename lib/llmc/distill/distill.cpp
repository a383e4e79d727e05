#include "llmc/distill/distill.h"

#include <cmath>

#include <fmt/format.h>

#include "llmc/distill/data_parallel.h"
#include "llmc/distill/qat.h"
#include "llmc/distill/trainer.h"
#include "llmc/model/compute_profile.h"
#include "llmc/model/inspect.h"
#include "llmc/model/load.h"
#include "llmc/passes/lowp_range_constants.h"
#include "llmc/report/svg_chart.h"
#include "llmc/util/error.h"
#include "llmc/util/log.h"
#include "llmc/util/sha256.h"
#include "llmc/util/cores.h"
#include "llmc/util/threads.h"
#include "llmc/util/units.h"

namespace llmc::distill {

namespace {

using util::Json;

double round4(double v) { return std::round(v * 1e4) / 1e4; }

std::string scheme_name(quantize::Scheme s) {
  return s == quantize::Scheme::static_int8 ? "static-int8" : "dynamic-int8";
}

// The settings a resumed run must share with the run that wrote the checkpoint.
Json fingerprint(const DistillRecipe& r, int world_size) {
  const auto& o = r.distill;
  Json j = Json::object();
  j["student_sha256"] = util::sha256_file_hex(r.common.model);
  j["teacher_sha256"] = o.teacher.empty() ? "" : util::sha256_file_hex(o.teacher);
  j["train_data_sha256"] = util::sha256_file_hex(o.train_data.path);
  j["train_batch_size"] = o.train_data.batch_size;
  j["max_length"] = o.train_data.max_length;
  j["max_samples"] = o.train_data.max_samples;
  j["alpha"] = o.alpha;
  j["temperature"] = o.temperature;
  j["soft_loss"] = soft_loss_name(o.soft_loss);
  j["epochs"] = o.epochs;
  j["group_by_length"] = o.group_by_length;
  j["learning_rate"] = o.learning_rate;
  j["weight_decay"] = o.weight_decay;
  j["warmup"] = fmt::format("{}/{}", o.warmup_steps, o.warmup_ratio);
  j["gradient_accumulation"] = o.gradient_accumulation;
  j["max_grad_norm"] = o.max_grad_norm;
  j["bf16"] = o.bf16;
  j["seed"] = r.common.seed;
  j["task"] = static_cast<int64_t>(r.common.task.type);
  if (o.qat) {  // without qat: absent (older checkpoints)
    const auto& q = *o.qat;
    j["qat"] = fmt::format("start {}, {}, per_channel {}, activations {}, averaging {}, freeze {}",
                           q.start_epoch, scheme_name(q.scheme), q.per_channel, q.activations,
                           q.observer_averaging, q.freeze_observers_epoch);
  }
  if (!o.hidden_states.empty()) {  // absent without them (older checkpoints stay valid)
    Json pairs = Json::array();
    for (const auto& p : o.hidden_states) {
      pairs.push_back(fmt::format("{} <- {} ({}, weight {}, projection {})", p.teacher, p.student,
                                  hidden_loss_name(p.loss), p.weight,
                                  p.projection == Projection::none ? "none" : "auto"));
    }
    j["hidden_states"] = pairs;
  }
  if (world_size > 1) j["world_size"] = world_size;  // one process: absent (older checkpoints)
  return j;
}

std::string learning_curves(const TrainResult& t, int64_t steps_per_epoch, bool has_teacher) {
  const auto& h = t.state.history;
  report::Series total{"train loss", {}}, task{"task loss", {}}, soft{"soft loss", {}};
  report::Series metric{t.best_metric, {}};
  report::Series hidden{"hidden-state loss (weighted)", {}};
  const bool has_hidden = !h.empty() && !h.front().hidden_losses.empty();
  for (const auto& r : h) {
    const double x = static_cast<double>(r.step) / static_cast<double>(std::max<int64_t>(1, steps_per_epoch));
    total.points.emplace_back(x, r.train_loss);
    task.points.emplace_back(x, r.task_loss);
    if (has_teacher) soft.points.emplace_back(x, r.soft_loss);
    if (has_hidden) hidden.points.emplace_back(x, r.hidden_loss);
    metric.points.emplace_back(x, r.eval.value(t.best_metric));
  }
  std::vector<report::Series> losses{total};
  if (has_teacher) {
    losses.push_back(task);
    losses.push_back(soft);
  }
  if (has_hidden) losses.push_back(hidden);
  return report::svg_line_charts(
      "llmc distill learning curves",
      {{"training loss", "epoch", losses}, {"evaluation: " + t.best_metric, "epoch", {metric}}});
}

// For bf16 autocast: constants beyond bfloat16's range (HF's torch.finfo(float32).min mask
// fills) become its extreme finite value (pass lowp_range_constants), or masked_fill fails on a
// bf16 tensor. The rewritten methods are cloned into a module sharing the same tensors, so no
// graph executor compiled before the rewrite runs the old code.
torch::jit::Module bf16_safe_constants(torch::jit::Module m, const std::string& path, Json& notes) {
  const int64_t clamped = passes::lowp_range_constants(m).changed;
  if (clamped == 0) return m;
  log::info("{}: {} constants beyond bfloat16's range (mask fills such as torch.finfo(float32).min) "
            "set to its extreme finite value for bf16 autocast",
            path, clamped);
  notes[path] = clamped;
  return m.clone(/*inplace=*/true);
}


data::SampleTable read_training_data(const DistillRecipe& recipe, const torch::jit::Module& student) {
  log::info("reading training data {}", recipe.distill.train_data.path);
  return job::read_checked_samples(recipe.distill.train_data, recipe.common.task.type, student,
                                   recipe.common.model);
}

// The student, the teacher and the data ready for train(); `table` must outlive the setup.
TrainSetup training_setup(const DistillRecipe& recipe, RunControl control,
                          torch::jit::Module student, const job::TransformInput& in,
                          const data::SampleTable& table, DataParallel* parallel, Json& clamped) {
  const auto& o = recipe.distill;
  const auto& common = recipe.common;
  TrainSetup setup;
  setup.options = o;
  setup.options.resume = control.resume;
  setup.force = control.force;
  setup.task = common.task;
  setup.seed = common.seed;
  setup.student_path = common.model;
  setup.checkpoints = CheckpointDir(checkpoint_dir(recipe));
  setup.fingerprint = fingerprint(recipe, parallel ? parallel->size() : 1);
  setup.eval = &in.inputs;
  setup.parallel = parallel;
  setup.train = &table;

  const auto args = model::forward_argument_names(student);
  if (!o.teacher.empty()) {
    log::info("loading teacher {}", o.teacher);
    torch::jit::Module teacher = model::load(o.teacher);
    teacher.eval();
    const auto teacher_args = model::forward_argument_names(teacher);
    if (teacher_args != args) {
      throw InputError(o.teacher, fmt::format("the teacher's forward takes ({}) but the "
                                              "student's takes ({}); both read the same batches",
                                              fmt::join(teacher_args, ", "),
                                              fmt::join(args, ", ")));
    }
    for (const auto& p : teacher.parameters(true)) p.set_requires_grad(false);
    if (o.bf16) teacher = bf16_safe_constants(teacher, o.teacher, clamped);
    setup.teacher = teacher;
  }
  if (o.bf16) student = bf16_safe_constants(student, common.model, clamped);
  setup.student = student;
  log::info("training on {} samples, evaluating on {} ({} epochs, batch {}{}{})", table.size(),
            in.inputs.rows(), o.epochs, o.train_data.batch_size,
            parallel ? fmt::format(" per worker x {} workers", parallel->size()) : "",
            o.teacher.empty() ? ", no teacher" : ", teacher " + o.teacher);

  // Token ids must fit the teacher's vocabulary too, in the training and the evaluation data
  // (the student's was checked as they were read).
  if (setup.teacher) {
    job::check_token_ids(table, *setup.teacher, o.teacher);
    if (in.samples) job::check_token_ids(*in.samples, *setup.teacher, o.teacher);
  }
  return setup;
}

// distill.qat: the trained student converted to int8 by `llmc quantize`'s code becomes the
// artifact (the float student is student-float.pt next to it), with details.qat and the
// comparison with post-training quantization, details.qat_comparison.
void add_qat(const DistillRecipe& recipe, TrainResult& t, const job::TransformInput& in,
             job::TransformResult& result) {
  const QatOptions& q = *recipe.distill.qat;
  LLMC_ASSERT(t.before_qat.has_value(), "qat: no student before QAT");
  QatComparison c = compare_with_ptq(recipe, t.best, *t.before_qat, t.best_metric, in);
  std::ostringstream bytes;
  t.best.save(bytes);
  result.extra_files.emplace_back("student-float.pt", bytes.str());
  result.artifact = c.artifact;
  result.quantized_engine = c.conversion.quantized_engine;
  Json j = Json::object();
  j["start_epoch"] = q.start_epoch;
  j["scheme"] = scheme_name(q.scheme);
  j["per_channel"] = q.per_channel;
  j["activations"] = q.activations;
  j["observer_averaging"] = q.observer_averaging;
  j["freeze_observers_epoch"] = q.freeze_observers_epoch;
  j["float_student"] = "student-float.pt";
  j["coverage"] = t.qat_coverage;
  if (q.activations) j["activation_ranges"] = t.qat_ranges;
  j["conversion"] = c.conversion.details;
  result.details["qat"] = j;
  result.details["qat_comparison"] = c.table;
  result.warnings.insert(result.warnings.end(), c.conversion.warnings.begin(),
                         c.conversion.warnings.end());
}

// details.data_parallel of a data-parallel run's report.
Json parallel_details(const DistillRecipe& recipe, const DataParallel& dp, const TrainResult& t) {
  Json j = Json::object();
  j["rank"] = dp.rank();
  j["workers"] = dp.size();
  j["workers_on_this_machine"] = dp.world().local_size;
  j["threads_per_worker"] = recipe.common.threads;
  j["batch_per_worker"] = recipe.distill.train_data.batch_size;
  j["global_batch"] = recipe.distill.train_data.batch_size * dp.size();
  j["communication_seconds"] = round4(t.communication_seconds);
  j["communication_share"] =
      round4(t.state.train_seconds > 0 ? t.communication_seconds / t.state.train_seconds : 0.0);
  j["evaluation"] = "sharded: each worker evaluates every WORLD_SIZE-th batch, logits (or a "
                    "language model's loss sums) summed over the workers";
  return j;
}

// A data-parallel worker other than rank 0: trains its share and writes nothing.
report::Report run_follower(const DistillRecipe& recipe, RunControl control, DataParallel& dp) {
  const auto& common = recipe.common;
  util::configure_threads(static_cast<int>(common.threads), job::thread_pool_of(common));
  torch::jit::Module student = model::load(common.model);
  model::use_pool_for(student);
  const job::Inputs inputs = job::load_inputs(common, student);
  const job::TransformInput in{common, inputs.agreement, inputs.latency,
                               inputs.samples ? &*inputs.samples : nullptr};
  Json clamped = Json::object();
  const data::SampleTable table = read_training_data(recipe, student);
  const TrainResult t =
      train(training_setup(recipe, control, student, in, table, &dp, clamped));
  report::Report r;
  r.command = "distill";
  r.details["data_parallel"] = parallel_details(recipe, dp, t);
  log::info("{} done ({:.1f} s in collectives); rank 0 writes the artifact and the report",
            dp.world().name(), t.communication_seconds);
  return r;
}

}  // namespace

job::Job distill_job(const DistillRecipe& recipe, RunControl control, DataParallel* parallel) {
  job::Job j;
  j.command = "distill";
  // The student's weights, gradients and Adam's two moments, and the teacher's weights.
  j.memory_need = [teacher = recipe.distill.teacher](const recipe::CommonRecipe& c) {
    util::MemoryNeed need;
    const uint64_t student = util::files_bytes({c.model});
    need.weights = 4 * student + (teacher.empty() ? 0 : util::files_bytes({teacher}));
    need.min_copies = 1;
    need.usual_copies = 1.25;
    need.what = "distill holds the student's weights, gradients and two Adam moments" +
                (teacher.empty() ? std::string() : ", and the weights of the teacher " + teacher);
    return need;
  };
  j.transform = [recipe, control, parallel](torch::jit::Module student,
                                            const job::TransformInput& in) {
    const auto& o = recipe.distill;
    const auto& common = recipe.common;
    Json clamped = Json::object();  // model path -> bf16-overflowing constants rewritten
    const data::SampleTable table = read_training_data(recipe, student);
    TrainSetup setup = training_setup(recipe, control, student, in, table, parallel, clamped);
    TrainResult t = train(setup);

    const int64_t n = table.size();
    const int64_t global_batch = o.train_data.batch_size * (parallel ? parallel->size() : 1);
    const int64_t batches = (n + global_batch - 1) / global_batch;
    const int64_t steps_per_epoch = (batches + o.gradient_accumulation - 1) / o.gradient_accumulation;

    job::TransformResult result;
    result.artifact = t.best;
    if (!o.teacher.empty()) result.reference_path = o.teacher;
    result.warnings = t.warnings;
    Json& d = result.details;
    if (clamped.size() > 0) d["bf16_clamped_constants"] = clamped;
    d["teacher"] = o.teacher.empty() ? "none (fine-tuning without a teacher)" : o.teacher;
    d["loss"] = o.teacher.empty()
                    ? std::string("task loss only")
                    : fmt::format("{} * task + {} * T^2 * {} (T = {}){}", o.alpha, 1 - o.alpha,
                                  soft_loss_name(resolve_soft_loss(o.soft_loss, common.task.type)),
                                  o.temperature,
                                  o.hidden_states.empty()
                                      ? std::string()
                                      : " + sum of weight * hidden-state loss");
    if (!t.hidden_states.is_null()) d["hidden_states"] = t.hidden_states;
    d["train_samples"] = n;
    d["eval_samples"] = in.inputs.rows();
    d["epochs"] = o.epochs;
    d["optimizer_steps"] = t.state.step;
    d["train_seconds"] = round4(t.state.train_seconds);
    d["train_samples_per_second"] =
        round4(t.state.train_seconds > 0
                   ? static_cast<double>(n * o.epochs) / t.state.train_seconds
                   : 0.0);
    if (t.resumed_from_epoch >= 0) d["resumed_after_epoch"] = t.resumed_from_epoch;
    if (parallel) d["data_parallel"] = parallel_details(recipe, *parallel, t);
    if (!o.teacher.empty()) {
      d["teacher_cache"] =
          !o.hidden_states.empty()
              ? fmt::format("off: hidden_states need the teacher's intermediate outputs on every "
                            "batch; {} teacher batches run",
                            t.teacher_forwards)
          : o.teacher_cache && t.cache_bytes > 0
              ? fmt::format("{} teacher batches run, {} served from the cache ({})",
                            t.teacher_forwards, t.cached_batches,
                            util::human_bytes(t.cache_bytes))
              : fmt::format("off: {} teacher batches run", t.teacher_forwards);
    }
    const auto& best = t.state.history.at(static_cast<size_t>(t.state.best));
    d["best"] = fmt::format("epoch {} (step {}): {} {:.4f}", best.epoch, best.step, t.best_metric,
                            best.eval.value(t.best_metric));
    d["best_metric"] = t.best_metric;
    d["learning_curves"] = "learning_curves.svg";
    Json rows = Json::array();
    for (size_t i = 0; i < t.state.history.size(); ++i) {
      const auto& r = t.state.history[i];
      Json row = Json::object();
      row["epoch"] = r.epoch;
      row["step"] = r.step;
      row["train_loss"] = round4(r.train_loss);
      if (!o.teacher.empty()) {
        row["task_loss"] = round4(r.task_loss);
        row["soft_loss"] = round4(r.soft_loss);
      }
      if (!r.hidden_losses.empty()) {
        row["hidden_loss"] = round4(r.hidden_loss);
        for (size_t k = 0; k < r.hidden_losses.size(); ++k) {
          row[fmt::format("hidden_loss_{}", k)] = round4(r.hidden_losses[k]);
        }
      }
      for (const auto& [name, v] : r.eval.values) row[name] = round4(v);
      row["samples_per_s"] = std::round(r.samples_per_second * 10) / 10;
      if (o.qat) row["fake_quant"] = r.epoch >= o.qat->start_epoch ? "yes" : "no";
      row["best"] = static_cast<int64_t>(i) == t.state.best ? "*" : "";
      rows.push_back(row);
    }
    d["history"] = rows;
    result.extra_files.emplace_back("learning_curves.svg",
                                    learning_curves(t, steps_per_epoch, !o.teacher.empty()));
    if (o.qat) add_qat(recipe, t, in, result);
    const CheckpointDir ckpt(checkpoint_dir(recipe));
    if (!o.keep_checkpoints) {
      result.after_commit = [ckpt] { ckpt.remove(); };
    }
    return result;
  };
  return j;
}

report::Report run_distill(DistillRecipe recipe, RunControl control,
                           const job::RunOptions& options) {
  const World world = world_from_environment();
  if (!world.distributed()) {
    return job::run(distill_job(recipe, control), recipe.common, options);
  }
  // The workers on this machine share its cores.
  const int cores = util::available_cores();
  const int threads = worker_threads(static_cast<int>(recipe.common.threads), cores,
                                     world.local_size);
  if (threads != recipe.common.threads) {
    log::info("{} threads per worker: {} workers share {} cores here (threads: {} in the recipe)",
              threads, world.local_size, cores, recipe.common.threads);
  }
  if (recipe.distill.qat) {
    throw UsageError(fmt::format(
        "{}: distill.qat runs in one process: the activation observers of data-parallel "
        "workers would see different data; drop --nproc (and WORLD_SIZE) for quantization-aware "
        "training",
        world.name()));
  }
  recipe.common.threads = threads;
  // The others repeat rank 0's progress: they log warnings and errors only (unless -v).
  if (world.rank != 0 && log::level() == log::Level::info) log::set_level(log::Level::quiet);
  DataParallel dp(world, std::chrono::seconds(recipe.distill.collective_timeout_s));
  if (dp.leader()) return job::run(distill_job(recipe, control, &dp), recipe.common, options);
  return run_follower(recipe, control, dp);
}

}  // namespace llmc::distill
