#include "llmc/distill/recipe.h"

#include <algorithm>
#include <limits>

#include <fmt/format.h>

#include "llmc/distill/checkpoint.h"
#include "llmc/recipe/parse.h"

namespace llmc::distill {

using recipe::TaskKind;

SoftLoss resolve_soft_loss(SoftLoss requested, TaskKind task) {
  if (requested != SoftLoss::automatic) return requested;
  return task == TaskKind::multi_label ? SoftLoss::sigmoid_kl : SoftLoss::softmax_kl;
}

std::string soft_loss_name(SoftLoss s) {
  switch (s) {
    case SoftLoss::automatic: return "auto";
    case SoftLoss::sigmoid_kl: return "sigmoid-kl";
    case SoftLoss::softmax_kl: return "softmax-kl";
  }
  return "?";
}

std::string hidden_loss_name(HiddenLoss l) {
  return l == HiddenLoss::mse ? "mse" : "cosine";
}

namespace {

recipe::Section<HiddenStatePair> hidden_state_schema() {
  recipe::Section<HiddenStatePair> s;
  s.text("teacher", &HiddenStatePair::teacher,
         "dotted module path in the teacher whose output is matched (e.g. "
         "bert.encoder.layer.11; module paths are the parameter names `llmc inspect` lists "
         "without their last part)")
      .required();
  s.text("student", &HiddenStatePair::student,
         "dotted module path in the student whose output is matched (e.g. "
         "distilbert.transformer.layer.5)")
      .required();
  s.choice("loss", &HiddenStatePair::loss,
           {{"mse", HiddenLoss::mse}, {"cosine", HiddenLoss::cosine}},
           "mse: mean squared difference over the hidden units; cosine: 1 - cosine similarity "
           "of each token's vectors; both averaged over each sample's non-padding tokens "
           "(attention_mask), then over the samples");
  s.number("weight", &HiddenStatePair::weight, 0, 1e6,
           "weight of this pair's loss, added to the logit loss");
  s.choice("projection", &HiddenStatePair::projection,
           {{"auto", Projection::automatic}, {"none", Projection::none}},
           "auto: where the widths differ, a learned Linear student width -> teacher width "
           "(initialised from the seed, trained with the student, not part of the artifact); "
           "none: the widths must be equal");
  s.origin(&HiddenStatePair::origin);
  return s;
}

}  // namespace

std::vector<std::string> metric_names(TaskKind task) {
  switch (task) {
    case TaskKind::single_label: return {"accuracy", "macro_f1"};
    case TaskKind::multi_label: return {"jaccard_samples", "micro_f1", "macro_f1", "exact_match"};
    case TaskKind::language_model: return {"perplexity", "cross_entropy"};
    case TaskKind::none: return {};
  }
  return {};
}

bool higher_is_better(const std::string& metric) {
  return metric != "perplexity" && metric != "cross_entropy";
}

std::string checkpoint_dir(const DistillRecipe& r) {
  if (!r.distill.checkpoint_dir.empty()) return r.distill.checkpoint_dir;
  std::string out = r.common.output;
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out + ".checkpoints";
}

namespace {

recipe::Section<QatOptions> qat_schema() {
  recipe::Section<QatOptions> q;
  q.integer("start_epoch", &QatOptions::start_epoch, 1, 100000,
            "first epoch (1-based) trained with fake quantization; the epochs before it train "
            "in float, and the best student is chosen among the fake-quantized epochs only");
  q.choice("scheme", &QatOptions::scheme,
           {{"static-int8", quantize::Scheme::static_int8},
            {"dynamic-int8", quantize::Scheme::dynamic_int8}},
           "what the trained student becomes, by `llmc quantize`'s code with quantize.scheme "
           "set to this: static-int8 (int8 weights and activations, calibrated on the training "
           "data; needs activations: true) or dynamic-int8 (int8 weights, activations "
           "quantized at run time)");
  q.flag("per_channel", &QatOptions::per_channel,
         "int8 weights with one scale per output channel (false: one per tensor), in training "
         "(symmetric, [-128, 127], scale max|w| / 127.5 recomputed every step) and in the "
         "conversion (quantize.per_channel)");
  q.flag("activations", &QatOptions::activations,
         "also fake-quantize each quantized Linear's input to uint8 (affine, [0, 255]) with a "
         "moving-average min/max observer updated in training");
  q.number("observer_averaging", &QatOptions::observer_averaging, 0, 1,
           "moving-average constant of the activation observers (the first fake-quantized batch "
           "sets the range, then range += c * (batch range - range))",
           true);
  q.integer("freeze_observers_epoch", &QatOptions::freeze_observers_epoch, 0, 100000,
            "first epoch (1-based) in which the activation observers no longer move; 0 = they "
            "move until the end");
  q.integer("calibration_batches", &QatOptions::calibration_batches, 1, 100000,
            "static-int8: training-data batches that calibrate the conversion and the "
            "post-training static-int8 it is compared with (quantize.calibration_batches)");
  q.origin(&QatOptions::origin);
  return q;
}

}  // namespace

recipe::Section<DistillRecipe> distill_schema() {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  recipe::Section<DistillOptions> s;
  s.path("teacher", &DistillOptions::teacher, recipe::PathCheck::existing_file,
         "teacher TorchScript model, run in eval mode without gradients; unset: no teacher "
         "(plain fine-tuning of the student, the \"student without teacher\" baseline)");
  s.number("alpha", &DistillOptions::alpha, 0, 1,
           "loss = alpha * task loss + (1 - alpha) * T^2 * soft loss; 1 = task loss only");
  s.number("temperature", &DistillOptions::temperature, 0, kInf,
           "T: teacher and student logits are divided by T before the soft loss", true);
  s.choice("soft_loss", &DistillOptions::soft_loss,
           {{"auto", SoftLoss::automatic},
            {"sigmoid-kl", SoftLoss::sigmoid_kl},
            {"softmax-kl", SoftLoss::softmax_kl}},
           "soft loss: sigmoid-kl (per-label KL of sigmoid(logit/T), averaged over samples and "
           "labels; multi-label), softmax-kl (KL(softmax(teacher/T) || softmax(student/T)), "
           "summed over classes and averaged over samples, as the classic recipe's "
           "KLDivLoss(batchmean); for a language model averaged over tokens); auto: "
           "sigmoid-kl for multi-label, softmax-kl otherwise");
  s.list("hidden_states", &DistillOptions::hidden_states, hidden_state_schema(),
         "intermediate outputs to match as well as the logits (hidden-state distillation, as "
         "DistilBERT and TinyBERT do): loss = logit loss + sum of weight * hidden loss; read "
         "from the TorchScript graph; turns the teacher-logit cache off");
  s.section("train_data", &DistillOptions::train_data, recipe::data_schema(),
            "training data (JSONL; its batch_size is the training batch size; the recipe's "
            "`data` is the evaluation set)")
      .required();
  s.integer("epochs", &DistillOptions::epochs, 1, 100000, "passes over the training data");
  s.flag("group_by_length", &DistillOptions::group_by_length,
         "batch samples of similar length together (shuffled groups of 50 batches sorted by "
         "length, batches shuffled), so less compute goes into padding");
  s.number("learning_rate", &DistillOptions::learning_rate, 0, 1, "peak AdamW learning rate",
           true);
  s.number("weight_decay", &DistillOptions::weight_decay, 0, 1,
           "AdamW decoupled weight decay; not applied to 1-D parameters (biases, norm weights)");
  s.numbers("adam_betas", &DistillOptions::adam_betas, "AdamW betas [beta1, beta2]");
  s.number("adam_epsilon", &DistillOptions::adam_epsilon, 0, 1, "AdamW epsilon", true);
  s.integer("warmup_steps", &DistillOptions::warmup_steps, 0, std::numeric_limits<int64_t>::max(),
            "optimizer steps of linear warm-up from 0 to learning_rate (then linear decay to 0 "
            "at the last step); 0 = use warmup_ratio");
  s.number("warmup_ratio", &DistillOptions::warmup_ratio, 0, 1,
           "warm-up as a fraction of all optimizer steps, when warmup_steps is 0");
  s.integer("gradient_accumulation", &DistillOptions::gradient_accumulation, 1, 1 << 16,
            "batches whose gradients are summed before each optimizer step");
  s.number("max_grad_norm", &DistillOptions::max_grad_norm, 0, kInf,
           "clip the global gradient norm to this (0 = no clipping)");
  s.flag("bf16", &DistillOptions::bf16,
         "bfloat16 autocast for the student's and teacher's forward passes (weights and "
         "optimizer state stay float32)");
  s.integer("eval_steps", &DistillOptions::eval_steps, 0, std::numeric_limits<int64_t>::max(),
            "evaluate every this many optimizer steps as well as at the end of each epoch (0 = "
            "only at the end of each epoch)");
  s.text("best_metric", &DistillOptions::best_metric,
         "evaluation metric that picks the best checkpoint, written as the artifact (default: "
         "the task's primary metric: accuracy, jaccard_samples or perplexity)");
  s.flag("teacher_cache", &DistillOptions::teacher_cache,
         "compute the teacher's logits on each training sample once and reuse them in later "
         "epochs (inputs are fixed, the teacher is deterministic in eval mode)");
  s.integer("teacher_cache_max_mb", &DistillOptions::teacher_cache_max_mb, 1, 1 << 30,
            "largest teacher-logit cache kept in memory; beyond it the teacher runs every "
            "epoch (with a warning)");
  s.path("checkpoint_dir", &DistillOptions::checkpoint_dir, recipe::PathCheck::output_dir,
         "where a checkpoint is written after every epoch (default: OUTPUT.checkpoints next to "
         "the output directory); `llmc distill --resume` continues from it");
  s.flag("keep_checkpoints", &DistillOptions::keep_checkpoints,
         "keep the checkpoint directory after a successful run (default: removed)");
  s.integer("collective_timeout_s", &DistillOptions::collective_timeout_s, 1, 86400,
            "data-parallel runs (--nproc N, or WORLD_SIZE > 1 as torchrun sets it): seconds a "
            "worker waits for the others, at the start and in every collective (gradients, "
            "evaluation, state), before the run fails on every worker");
  s.optional_section("qat", &DistillOptions::qat, qat_schema(),
                     "quantization-aware training: the student trains with fake-quantized Linear "
                     "weights (and inputs) and is converted to int8; the report compares it with "
                     "post-training quantization (docs/distill.md#quantization-aware-training)");
  s.origin(&DistillOptions::origin);
  s.check([](const DistillOptions& o, const recipe::Origin& where, recipe::Context& ctx) {
    if (o.qat) {
      const auto& q = *o.qat;
      const std::string& loc = q.origin.location.empty() ? where.location : q.origin.location;
      const std::string key = recipe::join_key(where.key, "qat");
      if (q.start_epoch > o.epochs) {
        ctx.add({loc, recipe::join_key(key, "start_epoch"),
                 fmt::format("start_epoch {} is after the last epoch ({} epochs): no epoch would "
                             "train with fake quantization",
                             q.start_epoch, o.epochs)});
      }
      if (q.freeze_observers_epoch != 0 &&
          (q.freeze_observers_epoch <= q.start_epoch || q.freeze_observers_epoch > o.epochs)) {
        ctx.add({loc, recipe::join_key(key, "freeze_observers_epoch"),
                 fmt::format("freeze_observers_epoch must be after start_epoch ({}) and at most "
                             "epochs ({}), or 0",
                             q.start_epoch, o.epochs)});
      }
      if (q.scheme == quantize::Scheme::static_int8 && !q.activations) {
        ctx.add({loc, recipe::join_key(key, "activations"),
                 "static-int8 quantizes activations: train with activations: true, or convert "
                 "with scheme: dynamic-int8"});
      }
      if (o.bf16) {
        ctx.add({loc, key, "qat and bf16 autocast cannot be combined (fake quantization runs in "
                           "float32); drop bf16"});
      }
      if (!o.hidden_states.empty()) {
        ctx.add({loc, key, "qat and hidden_states cannot be combined yet (the student's "
                           "variant with intermediate outputs is not fake-quantized): distil "
                           "with hidden states first, then train that student with qat"});
      }
    }
    if (o.adam_betas.size() != 2 ||
        std::any_of(o.adam_betas.begin(), o.adam_betas.end(),
                    [](double b) { return !(b >= 0 && b < 1); })) {
      ctx.add({where.location, recipe::join_key(where.key, "adam_betas"),
               "adam_betas must be two numbers in [0, 1)"});
    }
    if (o.teacher.empty() && !o.hidden_states.empty()) {
      ctx.add({where.location, recipe::join_key(where.key, "hidden_states"),
               "hidden_states match the teacher's intermediate outputs: set `teacher`"});
    }
    if (!o.teacher.empty() && o.alpha == 1.0 && o.hidden_states.empty()) {
      ctx.add({where.location, recipe::join_key(where.key, "alpha"),
               "alpha 1 ignores the teacher; drop `teacher` for plain fine-tuning or lower "
               "alpha"});
    }
  });

  recipe::Section<DistillRecipe> root;
  root.inline_section(&DistillRecipe::common, recipe::common_schema());
  root.section("distill", &DistillRecipe::distill, s, "distillation and training options")
      .required();
  root.check([](const DistillRecipe& r, const recipe::Origin&, recipe::Context& ctx) {
    const auto& where = r.distill.origin;
    if (r.common.task.type == TaskKind::none) {
      ctx.add({r.common.origin.location, "task.type",
               "distill trains on a task: set task.type (single-label, multi-label or "
               "language-model)"});
      return;
    }
    const bool has_labels = !r.distill.train_data.labels.empty();
    if (r.common.task.type != TaskKind::language_model && !has_labels) {
      ctx.add({where.location, recipe::join_key(where.key, "train_data.labels"),
               "a classification task trains on labels: name the JSON field that holds them"});
    }
    if (!r.common.data) {
      ctx.add({r.common.origin.location, "data",
               "distill evaluates on held-out data: give `data` (JSONL with labels)"});
    }
    if (!r.distill.best_metric.empty()) {
      const auto names = metric_names(r.common.task.type);
      if (std::find(names.begin(), names.end(), r.distill.best_metric) == names.end()) {
        ctx.add({where.location, recipe::join_key(where.key, "best_metric"),
                 fmt::format("\"{}\" is not a metric of this task (choose from {})",
                             r.distill.best_metric, fmt::join(names, ", "))});
      }
    }
    const auto soft = resolve_soft_loss(r.distill.soft_loss, r.common.task.type);
    if (soft == SoftLoss::sigmoid_kl && r.common.task.type != TaskKind::multi_label) {
      ctx.add({where.location, recipe::join_key(where.key, "soft_loss"),
               "sigmoid-kl is for multi-label tasks; use softmax-kl"});
    }
    // Before any training: a directory of someone else's files is never written into (nor
    // cleaned up afterwards).
    if (!r.common.output.empty() || !r.distill.checkpoint_dir.empty()) {
      const std::string key = recipe::join_key(where.key, "checkpoint_dir");
      if (const auto why = foreign_checkpoint_dir(checkpoint_dir(r)); !why.empty()) {
        ctx.add({ctx.is_overridden(key) ? "--set" : where.location, key,
                 r.distill.checkpoint_dir.empty() ? why + " (the default: OUTPUT.checkpoints)"
                                                  : why});
      }
    }
  });
  recipe::hint_other_sections(root, "distill");
  return root;
}

DistillRecipe parse_distill_recipe(const std::string& path, const std::vector<std::string>& sets) {
  return recipe::parse_recipe(path, sets, distill_schema());
}

}  // namespace llmc::distill
