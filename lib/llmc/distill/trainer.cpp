#include "llmc/distill/trainer.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <numeric>

#include <ATen/autocast_mode.h>
#include <fmt/format.h>
#include <torch/torch.h>

#include "llmc/metrics/agreement.h"
#include "llmc/metrics/metric_accumulator.h"
#include "llmc/distill/batching.h"
#include "llmc/distill/data_parallel.h"
#include "llmc/distill/hidden_states.h"
#include "llmc/distill/losses.h"
#include "llmc/distill/optimizer.h"
#include "llmc/distill/qat.h"
#include "llmc/distill/schedule.h"
#include "llmc/distill/teacher_cache.h"
#include "llmc/distill/training_batch.h"
#include "llmc/job/job.h"
#include "llmc/model/inspect.h"
#include "llmc/model/load.h"
#include "llmc/util/error.h"
#include "llmc/util/log.h"
#include "llmc/util/progress.h"

namespace llmc::distill {

namespace {

using Clock = std::chrono::steady_clock;
using recipe::TaskKind;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

std::vector<std::string> fingerprint_changes(const util::Json& saved, const util::Json& now) {
  std::vector<std::string> changed;
  for (const auto& [key, value] : now.as_object()) {
    const util::Json* old = saved.find(key);
    if (old == nullptr || old->dump() != value.dump()) changed.push_back(key);
  }
  return changed;
}

// Training steps as a log::Progress line; where progress lines do not show (stderr redirected,
// CI, -q) the same text as a log line every 30 seconds instead.
class StepProgress {
 public:
  StepProgress(int64_t total_steps, int64_t epochs, int64_t steps_at_start)
      : epochs_(epochs), line_("epoch", total_steps, log::ProgressUnit::count, "steps") {
    line_.set_done_at_start(steps_at_start);
  }
  void update(int64_t epoch, int64_t step, double loss, double samples_per_second) {
    line_.set_label(fmt::format("epoch {}/{}", epoch, epochs_));
    line_.update(step, fmt::format("loss {:.4f}, {:.1f} samples/s", loss, samples_per_second));
    if (!line_.shown() && seconds_since(last_line_) >= 30) {
      log::info(line_.text());
      last_line_ = Clock::now();
    }
  }
  void done() { line_.done(); }

 private:
  int64_t epochs_;
  log::Progress line_;
  Clock::time_point last_line_ = Clock::now();
};

}  // namespace

at::Tensor logits_of(const c10::IValue& output, const std::string& model_path) {
  if (output.isTensor()) return output.toTensor();
  if (output.isTuple()) {
    for (const auto& e : output.toTupleRef().elements()) {
      if (e.isTensor()) return e.toTensor();
    }
  }
  if (output.isGenericDict()) {
    for (const auto& kv : output.toGenericDict()) {
      if (kv.key().isString() && kv.key().toStringRef() == "logits" && kv.value().isTensor()) {
        return kv.value().toTensor();
      }
    }
  }
  throw InputError(model_path, "the model's output has no logits tensor (expected a tensor, a "
                               "tuple starting with one, or a dict with \"logits\")");
}

TrainResult train(TrainSetup s) {
  const auto& o = s.options;
  const auto& table = *s.train;
  const TaskKind task = s.task.type;
  const auto args = table.args;
  LossConfig loss_config{task, resolve_soft_loss(o.soft_loss, task),
                         s.teacher ? o.alpha : 1.0, o.temperature};
  const int64_t n = table.size();
  DataParallel* const dp = s.parallel;
  const bool leader = dp == nullptr || dp->leader();  // writes checkpoints
  const int64_t batch_size = o.train_data.batch_size;  // per worker
  const int64_t global_batch = batch_size * (dp ? dp->size() : 1);
  const int64_t batches_per_epoch = (n + global_batch - 1) / global_batch;
  const int64_t steps_per_epoch =
      (batches_per_epoch + o.gradient_accumulation - 1) / o.gradient_accumulation;
  const int64_t total_steps = steps_per_epoch * o.epochs;
  const LinearSchedule schedule{o.learning_rate,
                                warmup_steps(o.warmup_steps, o.warmup_ratio, total_steps),
                                total_steps};
  const std::string best_metric =
      o.best_metric.empty() ? metric_names(task).front() : o.best_metric;
  const bool higher = higher_is_better(best_metric);

  TrainResult result;
  result.best_metric = best_metric;
  TrainState state;
  state.fingerprint = s.fingerprint;

  // A fresh run or a resumed one: rank 0 decides and hands the state to the other workers.
  if (!leader) {
    // below: the state, the weights and the optimizer state from rank 0
  } else if (o.resume) {
    auto saved = s.checkpoints.load_state();
    if (!saved) {
      throw UsageError(fmt::format("--resume: no checkpoint in {} (a run writes one after each "
                                   "epoch)",
                                   s.checkpoints.path()));
    }
    const auto changed = fingerprint_changes(saved->fingerprint, s.fingerprint);
    // The fingerprint has world_size only for data-parallel runs (older checkpoints stay valid).
    const util::Json* was = saved->fingerprint.find("world_size");
    const int64_t saved_workers = was ? was->as_int() : 1;
    if (saved_workers != (dp ? dp->size() : 1)) {
      throw UsageError(fmt::format(
          "--resume: the checkpoint in {} was written by a run of {} worker(s) and this run has "
          "{}; resume with the same number (--nproc N, or WORLD_SIZE): the global batch and "
          "each worker's share of the data depend on it",
          s.checkpoints.path(), saved_workers, dp ? dp->size() : 1));
    }
    if (!changed.empty()) {
      throw UsageError(fmt::format("--resume: the checkpoint in {} was made with different "
                                   "settings ({} changed); resume with the same recipe, or start "
                                   "over with --force",
                                   s.checkpoints.path(), fmt::join(changed, ", ")));
    }
    state = *saved;
    s.student = s.checkpoints.load_student();
    result.resumed_from_epoch = state.epochs_done;
    log::info("resuming after epoch {} (step {}) from {}", state.epochs_done, state.step,
              s.checkpoints.path());
  } else if (s.checkpoints.has_checkpoint()) {
    if (!s.force) {
      throw UsageError(fmt::format("checkpoints of an earlier run are in {}: pass --resume to "
                                   "continue it, or --force to start over",
                                   s.checkpoints.path()));
    }
    s.checkpoints.remove();
  }
  if (dp) {
    // Every worker must train on the same recipe, models and data as rank 0.
    std::string settings = leader ? s.fingerprint.dump() : std::string();
    dp->broadcast_bytes(settings, "rank 0's settings");
    if (!leader) {
      const auto differ = fingerprint_changes(util::parse_json(settings), s.fingerprint);
      if (!differ.empty()) {
        throw UsageError(fmt::format("{}: its settings differ from rank 0's ({} differ); every "
                                     "worker must run the same recipe on the same files",
                                     dp->world().name(), fmt::join(differ, ", ")));
      }
    }
    std::string blob = leader ? to_json(state).dump() : std::string();
    dp->broadcast_bytes(blob, "the training state");
    if (!leader) {
      state = train_state_from_json(util::parse_json(blob));
      if (o.resume) result.resumed_from_epoch = state.epochs_done;
    }
  }
  if (!o.resume) torch::manual_seed(static_cast<uint64_t>(s.seed));
  // Hidden states: the variants (built from the student as resumed) and, from their outputs on
  // the first two samples, the projections.
  HiddenStates hidden;
  if (!o.hidden_states.empty()) {
    hidden = HiddenStates(o.hidden_states, s.student, *s.teacher, s.student_path, o.teacher);
    std::vector<int64_t> first(static_cast<size_t>(std::min<int64_t>(n, 2)));
    std::iota(first.begin(), first.end(), 0);
    const data::Batch b = data::make_batch(table, first);
    torch::NoGradGuard no_grad;
    hidden.student().eval();
    hidden.teacher().eval();
    hidden.prepare(forward_batch(hidden.student(), b, s.student_path),
                   forward_batch(hidden.teacher(), b, o.teacher), static_cast<uint64_t>(s.seed));
    if (o.teacher_cache) {
      log::info("teacher-logit cache off: hidden_states need the teacher's intermediate "
                "outputs on every batch (caching them would hold batch x seq x width floats per "
                "pair and sample)");
    }
  }
  const std::vector<at::Tensor> projections = hidden.parameters();
  auto optimizer = make_optimizer(s.student, o, projections);
  if (o.resume && leader) {
    if (!projections.empty()) s.checkpoints.load_extra(projections);
    s.checkpoints.load_optimizer(*optimizer);
  }
  if (dp) {
    // Every worker starts from rank 0's weights (and, resumed, its optimizer state).
    dp->broadcast_module(s.student);
    if (o.resume) {
      std::string blob = leader ? optimizer_bytes(*optimizer) : std::string();
      dp->broadcast_bytes(blob, "the optimizer state");
      if (!leader) load_optimizer_bytes(*optimizer, blob);
      if (!projections.empty()) {
        std::string extra = leader ? tensors_bytes(projections) : std::string();
        dp->broadcast_bytes(extra, "the hidden-state projections");
        if (!leader) load_tensors_bytes(projections, extra);
      }
    }
  }
  auto params = parameters(s.student);
  params.insert(params.end(), projections.begin(), projections.end());
  int64_t classes = 0;  // the width of the student's logits (classification)

  // Before the first step: the teacher and the student must agree on the output shape and the
  // labels must fit the head.
  {
    std::vector<int64_t> first(static_cast<size_t>(std::min<int64_t>(n, 2)));
    std::iota(first.begin(), first.end(), 0);
    const data::Batch b = data::make_batch(table, first);
    torch::NoGradGuard no_grad;
    s.student.eval();
    const at::Tensor sl = logits_of(forward_batch(s.student, b, s.student_path), s.student_path);
    // Every sample's labels against the head, naming the line of the first that does not fit.
    if (task != TaskKind::language_model && sl.dim() == 2) {
      data::check_label_classes(table, task, sl.size(1), s.student_path);
    }
    if (sl.dim() == 2) classes = sl.size(1);
    check_labels_fit(sl, labels_of(b, args, task), task, table.source);
    if (s.teacher) {
      const at::Tensor tl = logits_of(forward_batch(*s.teacher, b, o.teacher), o.teacher);
      if (tl.sizes() != sl.sizes()) {
        std::ostringstream msg;
        msg << "the teacher's logits " << tl.sizes() << " and the student's " << sl.sizes()
            << " differ in shape on the same batch; distillation needs the same classes (or "
               "vocabulary)";
        throw InputError(o.teacher, msg.str());
      }
      int64_t per_sample = tl.numel() / tl.size(0);
      if (task == TaskKind::language_model) {
        per_sample = static_cast<int64_t>(tl.size(2)) * 2;  // bf16 per token
        int64_t tokens = 0;
        for (const auto& f : table.columns.front()) tokens += f.shape.empty() ? 1 : f.shape[0];
        per_sample = per_sample * tokens / std::max<int64_t>(1, n);
      } else {
        per_sample *= 4;
      }
      const int64_t estimate = per_sample * n;
      if (o.teacher_cache && estimate > o.teacher_cache_max_mb * 1024 * 1024) {
        result.warnings.push_back(fmt::format(
            "the teacher-logit cache would need about {} MB (teacher_cache_max_mb is {}); the "
            "teacher runs on every batch of every epoch",
            estimate / (1024 * 1024), o.teacher_cache_max_mb));
      }
    }
  }
  TeacherCache cache(n, s.teacher && o.teacher_cache && hidden.empty());
  if (!result.warnings.empty()) cache.disable();

  StepProgress progress(total_steps, o.epochs, state.step);
  std::vector<int64_t> lengths;
  const size_t ids_column = static_cast<size_t>(
      std::find(args.begin(), args.end(), "input_ids") - args.begin());

  // What runs forward: the student, or from qat.start_epoch on its fake-quantized twin (which
  // shares its parameters, so the optimizer and the checkpoints see the same tensors).
  torch::jit::Module runner = s.student;
  std::optional<QatStudent> qat;

  auto evaluate = [&]() {
    torch::NoGradGuard no_grad;
    runner.eval();
    if (qat) qat->before_evaluation();
    if (dp) {  // each worker runs its share of the batches; the results are summed
      return sharded_metrics(*dp, *s.eval, s.task, classes, [&](const data::Batch& b) {
        Autocast autocast(o.bf16);
        return logits_of(forward_batch(runner, b, s.student_path), s.student_path).to(at::kFloat);
      });
    }
    // Batch by batch: a language model's logits over the evaluation set would not fit.
    metrics::MetricAccumulator metric(s.task);
    for (const auto& b : s.eval->batches) {
      at::Tensor logits;
      {
        Autocast autocast(o.bf16);
        logits = logits_of(forward_batch(runner, b, s.student_path), s.student_path).to(at::kFloat);
      }
      metric.add(logits, b);
    }
    return metric.result();
  };

  // Running sums since the last evaluation.
  double sum_loss = 0, sum_task = 0, sum_soft = 0, sum_hidden = 0;
  std::vector<double> sum_pairs(hidden.size(), 0.0);
  int64_t micro = 0, samples = 0;
  auto window_start = Clock::now();

  auto record = [&](int64_t epoch, bool epoch_end) {
    const double seconds = seconds_since(window_start);
    if (dp) {  // the losses and samples of every worker
      std::vector<double> sums{sum_loss, sum_task, sum_soft, static_cast<double>(micro),
                               static_cast<double>(samples), sum_hidden};
      sums.insert(sums.end(), sum_pairs.begin(), sum_pairs.end());
      dp->all_reduce_sum(sums, "summing the training losses");
      sum_loss = sums[0];
      sum_task = sums[1];
      sum_soft = sums[2];
      micro = static_cast<int64_t>(sums[3]);
      samples = static_cast<int64_t>(sums[4]);
      sum_hidden = sums[5];
      std::copy(sums.begin() + 6, sums.end(), sum_pairs.begin());
    }
    EvalRecord r;
    r.epoch = epoch;
    r.step = state.step;
    r.epoch_end = epoch_end;
    r.train_loss = micro ? sum_loss / static_cast<double>(micro) : 0;
    r.task_loss = micro ? sum_task / static_cast<double>(micro) : 0;
    r.soft_loss = micro ? sum_soft / static_cast<double>(micro) : 0;
    r.hidden_loss = micro ? sum_hidden / static_cast<double>(micro) : 0;
    for (double v : sum_pairs) {
      r.hidden_losses.push_back(micro ? v / static_cast<double>(micro) : 0);
    }
    r.seconds = seconds;
    r.samples_per_second = seconds > 0 ? static_cast<double>(samples) / seconds : 0;
    state.train_seconds += seconds;
    r.eval = evaluate();
    runner.train();
    state.history.push_back(r);
    const double value = r.eval.value(best_metric);
    const bool improved =
        state.best < 0 ||
        (higher ? value > state.history[static_cast<size_t>(state.best)].eval.value(best_metric)
                : value < state.history[static_cast<size_t>(state.best)].eval.value(best_metric));
    if (improved) {
      state.best = static_cast<int64_t>(state.history.size()) - 1;
      if (leader) {
        s.student.eval();
        s.checkpoints.save_best(s.student);
        s.student.train();
      }
    }
    progress.done();
    log::info("epoch {}/{} step {}: loss {:.4f}, {} {:.4f}{} ({:.1f} samples/s)", epoch, o.epochs,
              state.step, r.train_loss, best_metric, value, improved ? " (best)" : "",
              r.samples_per_second);
    sum_loss = sum_task = sum_soft = sum_hidden = 0;
    std::fill(sum_pairs.begin(), sum_pairs.end(), 0.0);
    micro = samples = 0;
    window_start = Clock::now();
  };

  std::vector<int64_t> sample_lengths;
  for (const auto& f : table.columns[ids_column < args.size() ? ids_column : 0]) {
    sample_lengths.push_back(f.shape.empty() ? 1 : f.shape[0]);
  }
  for (int64_t epoch = state.epochs_done; epoch < o.epochs; ++epoch) {
    const auto batches = epoch_batches(sample_lengths, global_batch, static_cast<uint64_t>(s.seed),
                                       epoch, o.group_by_length);
    // Each worker its own dropout stream, reproducible from (seed, epoch, rank) on --resume.
    if (dp) torch::manual_seed(worker_seed(static_cast<uint64_t>(s.seed), epoch, dp->rank()));
    if (o.qat && !qat && epoch + 1 >= o.qat->start_epoch) {
      // Fake quantization from here on. The student as it stands is the baseline of the
      // post-training quantization the report compares with; the best student is chosen among
      // the fake-quantized epochs.
      if (leader && (epoch + 1 == o.qat->start_epoch ||
                     !std::filesystem::exists(s.checkpoints.before_qat_model()))) {
        s.student.eval();
        s.checkpoints.save_before_qat(s.student);
      }
      if (epoch + 1 == o.qat->start_epoch) state.best = -1;
      qat.emplace(s.student, *o.qat);
      runner = qat->module();
      result.qat_coverage = qat_coverage(s.student, qat->rewrite(), result.warnings);
      log::info("qat: from epoch {} the student trains with fake-quantized weights ({}){} in {} "
                "Linear layers",
                epoch + 1, o.qat->per_channel ? "per channel" : "per tensor",
                o.qat->activations ? " and inputs" : "", qat->rewrite().layers.size());
    }
    s.student.train();
    runner.train();
    if (!hidden.empty()) hidden.student().train();
    optimizer->zero_grad();
    for (int64_t bi = 0; bi < batches_per_epoch; ++bi) {
      const std::vector<int64_t>& global_rows = batches[static_cast<size_t>(bi)];
      std::vector<int64_t> rows = global_rows;
      double weight = 1.0;  // this worker's share of the global batch's mean loss
      if (dp) {
        const RowRange mine =
            worker_rows(static_cast<int64_t>(global_rows.size()), batch_size, dp->rank());
        rows.assign(global_rows.begin() + mine.begin, global_rows.begin() + mine.end);
        weight = static_cast<double>(rows.size()) / static_cast<double>(global_rows.size());
      }
      const bool last = bi + 1 == batches_per_epoch;
      const bool step_now = (bi + 1) % o.gradient_accumulation == 0 || last;
      // A short last batch may leave this worker nothing: it still takes part in the step.
      if (rows.empty() && !step_now) continue;
      if (!rows.empty()) {
        const data::Batch b = data::make_batch(table, rows);
        const at::Tensor labels = labels_of(b, args, task);
        const at::Tensor mask = attention_mask_of(b, args);

        at::Tensor teacher_logits;
        SplitOutput teacher_hidden;
        if (!hidden.empty()) {  // no cache: the teacher's hidden states on every batch
          torch::NoGradGuard no_grad;
          Autocast autocast(o.bf16);
          teacher_hidden = split_output(forward_batch(hidden.teacher(), b, o.teacher), hidden.size());
          teacher_logits = logits_of(teacher_hidden.own, o.teacher).to(at::kFloat);
          ++result.teacher_forwards;
        } else if (s.teacher) {
          teacher_logits = cache.lookup(rows, task);
          const std::vector<int64_t> missing = cache.missing(rows);
          if (teacher_logits.defined()) {
            ++result.cached_batches;
          } else if (missing.size() < rows.size()) {
            // Some rows cached (a data-parallel worker sees other samples each epoch): the
            // teacher runs on the others only.
            torch::NoGradGuard no_grad;
            Autocast autocast(o.bf16);
            const data::Batch mb = data::make_batch(table, missing);
            const at::Tensor tl = logits_of(forward_batch(*s.teacher, mb, o.teacher), o.teacher);
            ++result.teacher_forwards;
            lengths.clear();
            for (int64_t r : missing) lengths.push_back(sample_lengths[static_cast<size_t>(r)]);
            cache.store(missing, tl.to(at::kFloat), lengths, task);
            teacher_logits = cache.lookup(rows, task);
          } else {
            torch::NoGradGuard no_grad;
            Autocast autocast(o.bf16);
            teacher_logits = logits_of(forward_batch(*s.teacher, b, o.teacher), o.teacher).to(at::kFloat);
            ++result.teacher_forwards;
            if (cache.enabled()) {
              lengths.clear();
              for (int64_t r : rows) lengths.push_back(sample_lengths[static_cast<size_t>(r)]);
              cache.store(rows, teacher_logits, lengths, task);
            }
          }
        }
        at::Tensor student_logits;
        SplitOutput student_hidden;
        {
          Autocast autocast(o.bf16);
          if (qat) qat->before_training_batch(epoch + 1);
          if (hidden.empty()) {
            // The student itself, or its fake-quantized clone under QAT (the recipe refuses
            // qat together with hidden_states).
            student_logits = logits_of(forward_batch(runner, b, s.student_path), s.student_path);
          } else {
            student_hidden =
                split_output(forward_batch(hidden.student(), b, s.student_path), hidden.size());
            student_logits = logits_of(student_hidden.own, s.student_path);
          }
        }
        LossParts loss = distill_loss(student_logits.to(at::kFloat), teacher_logits, labels,
                                      mask, loss_config);
        HiddenLossParts hidden_loss;
        if (!hidden.empty()) {
          hidden_loss = hidden.loss(student_hidden.hidden, teacher_hidden.hidden, mask);
          loss.total = loss.total + hidden_loss.total;
        }
        const double value = loss.total.item<double>();
        if (!std::isfinite(value)) {
          throw InputError(
              table.source,
              fmt::format("the loss is {} at epoch {}, step {} (a batch with line {}); training "
                          "stopped; {}",
                          std::isnan(value) ? "NaN" : "infinite", epoch + 1, state.step,
                          table.lines[static_cast<size_t>(rows[0])],
                          state.epochs_done > 0
                              ? fmt::format("the last good checkpoint (epoch {}) is in {}",
                                            state.epochs_done, s.checkpoints.path())
                              : std::string("no checkpoint was written yet")),
              "lower learning_rate, set max_grad_norm, or check the data and the teacher's "
              "outputs for extreme values");
        }
        ((dp ? loss.total * weight : loss.total) / static_cast<double>(o.gradient_accumulation))
            .backward();
        sum_loss += value;
        sum_task += loss.task.item<double>();
        if (loss.soft.defined()) sum_soft += loss.soft.item<double>();
        if (hidden_loss.total.defined()) {
          sum_hidden += hidden_loss.total.item<double>();
          for (size_t i = 0; i < sum_pairs.size(); ++i) {
            sum_pairs[i] += hidden_loss.pairs[i].item<double>();
          }
        }
        ++micro;
        samples += b.rows;
      }

      if (step_now) {
        if (dp) dp->all_reduce_gradients(params, kGradientBucketBytes);
        if (o.max_grad_norm > 0) torch::nn::utils::clip_grad_norm_(params, o.max_grad_norm);
        const double lr = schedule.at(state.step);
        for (auto& group : optimizer->param_groups()) {
          static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
        }
        optimizer->step();
        optimizer->zero_grad();
        ++state.step;
        progress.update(epoch + 1, state.step, sum_loss / static_cast<double>(std::max<int64_t>(1, micro)),
                        static_cast<double>(samples) / std::max(1e-9, seconds_since(window_start)));
        if (o.eval_steps > 0 && state.step % o.eval_steps == 0 && !last) {
          record(epoch + 1, false);
        }
      }
    }
    record(epoch + 1, true);
    state.epochs_done = epoch + 1;
    if (leader) s.checkpoints.save(s.student, *optimizer, state, projections);
  }

  result.cache_bytes = cache.bytes();
  if (!hidden.empty()) result.hidden_states = hidden.describe();
  result.state = state;
  if (dp) {
    dp->check_same_parameters(s.student);  // every worker ends with rank 0's weights
    result.communication_seconds = dp->communication_seconds();
  }
  if (!leader) {  // rank 0 writes the artifact
    result.best = s.student;
    return result;
  }
  result.best = model::load(s.checkpoints.best_model());
  result.best.eval();
  if (o.qat && !qat) {
    // Resumed after the last epoch: no epoch ran here, so the observers saw nothing (the
    // conversion calibrates on its own); the coverage is still reported.
    QatStudent unused(s.student, *o.qat);
    result.qat_coverage = qat_coverage(s.student, unused.rewrite(), result.warnings);
    result.before_qat = model::load(s.checkpoints.before_qat_model());
    result.before_qat->eval();
  }
  if (qat) {
    result.qat_ranges = qat->activation_ranges();
    result.before_qat = model::load(s.checkpoints.before_qat_model());
    result.before_qat->eval();
  }
  return result;
}

}  // namespace llmc::distill
