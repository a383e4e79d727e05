// The `distill:` section of a recipe: teacher, loss (alpha, temperature, soft loss), training
// data, optimizer and schedule, evaluation and checkpoints. The recipe's `model` is the student
// and its `data` the held-out evaluation set.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "llmc/quantize/recipe.h"
#include "llmc/recipe/common.h"
#include "llmc/recipe/schema.h"

namespace llmc::distill {

// How the teacher's logits become soft targets.
enum class SoftLoss {
  automatic,   // sigmoid-kl for multi-label, softmax-kl otherwise
  sigmoid_kl,  // per-label Bernoulli KL of temperature-scaled sigmoids (multi-label)
  softmax_kl,  // KL(softmax(teacher/T) || softmax(student/T)), batch-mean (the classic recipe)
};

// `distill.qat`: quantization-aware training (docs/distill.md#quantization-aware-training). From
// start_epoch on the student trains through the fake_quantize_linear pass; the best student is
// then converted by `llmc quantize`'s code with `scheme` and `per_channel` as its keys mean.
struct QatOptions {
  int64_t start_epoch = 1;  // 1-based: the epochs before train in float
  quantize::Scheme scheme = quantize::Scheme::static_int8;  // static-int8 | dynamic-int8
  bool per_channel = true;      // int8 weights: one scale per output channel
  bool activations = true;      // fake-quantize each Linear's input (uint8, observed min/max)
  double observer_averaging = 0.01;    // moving-average constant of the activation observers
  int64_t freeze_observers_epoch = 0;  // 1-based epoch from which observers stop; 0 = never
  int64_t calibration_batches = 8;     // static-int8: training batches that calibrate
  recipe::Origin origin;
};

// One pair of intermediate outputs to match (distill.hidden_states[]).
enum class HiddenLoss { mse, cosine };
enum class Projection { automatic, none };

struct HiddenStatePair {
  std::string teacher;  // module path in the teacher, e.g. bert.encoder.layer.1
  std::string student;  // module path in the student
  HiddenLoss loss = HiddenLoss::mse;
  double weight = 1.0;
  Projection projection = Projection::automatic;
  recipe::Origin origin;
};

struct DistillOptions {
  std::string teacher;  // "" = no teacher: plain fine-tuning
  double alpha = 0.5;   // weight of the task loss; 1 - alpha weighs the soft loss
  double temperature = 4.0;
  SoftLoss soft_loss = SoftLoss::automatic;
  std::vector<HiddenStatePair> hidden_states;
  recipe::DataSpec train_data;
  int64_t epochs = 3;
  bool group_by_length = false;
  double learning_rate = 5e-4;
  double weight_decay = 0.01;
  std::vector<double> adam_betas = {0.9, 0.999};
  double adam_epsilon = 1e-8;
  int64_t warmup_steps = 0;
  double warmup_ratio = 0.1;  // used when warmup_steps is 0
  int64_t gradient_accumulation = 1;
  double max_grad_norm = 1.0;  // 0 = no clipping
  bool bf16 = false;
  int64_t eval_steps = 0;  // 0 = evaluate at the end of every epoch
  std::string best_metric;  // "" = the task's primary metric
  bool teacher_cache = true;
  int64_t teacher_cache_max_mb = 4096;
  std::string checkpoint_dir;  // "" = OUTPUT.checkpoints
  bool keep_checkpoints = false;
  // Data-parallel runs (WORLD_SIZE > 1): how long a worker waits for the others in the
  // rendezvous and in every collective before it fails the run.
  int64_t collective_timeout_s = 300;
  std::optional<QatOptions> qat;  // unset: no quantization-aware training
  recipe::Origin origin;

  bool resume = false;  // --resume: continue from the last checkpoint (not a recipe key)
};

struct DistillRecipe {
  recipe::CommonRecipe common;
  DistillOptions distill;
};

recipe::Section<DistillRecipe> distill_schema();
DistillRecipe parse_distill_recipe(const std::string& path, const std::vector<std::string>& sets);

// The soft loss a task uses when the recipe says auto.
SoftLoss resolve_soft_loss(SoftLoss requested, recipe::TaskKind task);
std::string soft_loss_name(SoftLoss s);
std::string hidden_loss_name(HiddenLoss l);
// Where checkpoints go: distill.checkpoint_dir, or OUTPUT.checkpoints next to the output.
std::string checkpoint_dir(const DistillRecipe& r);
// The metric names a task reports, for best_metric; and whether higher is better.
std::vector<std::string> metric_names(recipe::TaskKind task);
bool higher_is_better(const std::string& metric);

}  // namespace llmc::distill
