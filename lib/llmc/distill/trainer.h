// The training loop of `llmc distill`: the student (a TorchScript module) trains through
// TorchScript in train mode with autograd and AdamW; the teacher runs in eval mode without
// gradients, its logits cached per training sample after the first epoch. Evaluation after
// every epoch (and every eval_steps), a checkpoint after every epoch, the best student by the
// chosen metric kept as the result.
#pragma once

#include <optional>
#include <string>

#include <torch/script.h>

#include "llmc/data/inputs.h"
#include "llmc/distill/checkpoint.h"
#include "llmc/distill/recipe.h"

namespace llmc::distill {

class DataParallel;

struct TrainSetup {
  torch::jit::Module student;
  std::optional<torch::jit::Module> teacher;
  const data::SampleTable* train = nullptr;
  const data::InputSet* eval = nullptr;
  DistillOptions options;
  recipe::TaskSpec task;
  int64_t seed = 0;
  std::string student_path;  // for messages
  CheckpointDir checkpoints{""};
  util::Json fingerprint = util::Json::object();
  bool force = false;  // discard checkpoints of an earlier run
  // Data-parallel training (docs/distill.md#several-processes): this worker trains on its slice
  // of every global batch (batch_size x workers rows), gradients are averaged over the workers
  // before each step, evaluation is shared and reduced, and only rank 0 writes checkpoints.
  // Null: one process.
  DataParallel* parallel = nullptr;
};

struct TrainResult {
  torch::jit::Module best;  // eval mode
  TrainState state;
  std::string best_metric;
  int64_t resumed_from_epoch = -1;  // -1: a fresh run
  int64_t teacher_forwards = 0;     // teacher batches run (the cache saves the rest)
  int64_t cached_batches = 0;       // batches whose teacher logits came from the cache
  int64_t cache_bytes = 0;
  double communication_seconds = 0;  // data-parallel: time in collectives
  std::vector<std::string> warnings;
  // distill.qat: the student before fake quantization began, what the rewrite covered and the
  // activation ranges the observers ended with.
  std::optional<torch::jit::Module> before_qat;
  util::Json qat_coverage = util::Json::object();
  util::Json qat_ranges = util::Json::array();
  util::Json hidden_states;  // HiddenStates::describe(); null without hidden_states
};

TrainResult train(TrainSetup setup);

// Gradients are all-reduced in flat buffers of at most this many bytes (PyTorch DDP's default).
inline constexpr int64_t kGradientBucketBytes = 25 << 20;

// The logits of a model output: the tensor itself, the first tensor of a tuple, or the
// "logits" entry of a dict.
at::Tensor logits_of(const c10::IValue& output, const std::string& model_path);

}  // namespace llmc::distill
