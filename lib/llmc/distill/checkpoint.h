// Training checkpoints: after every epoch the student, the optimizer state, the random
// generator state and the training history are written to CHECKPOINT_DIR/last (replaced
// atomically), so `llmc distill --resume` continues a killed run where it stopped. The best
// student so far is CHECKPOINT_DIR/best.pt.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <torch/torch.h>
#include <torch/script.h>

#include "llmc/metrics/task_metrics.h"
#include "llmc/util/json.h"

namespace llmc::distill {

// One evaluation of the student during training.
struct EvalRecord {
  int64_t epoch = 0;      // 1-based epoch the evaluation happened in
  int64_t step = 0;       // optimizer steps taken so far
  bool epoch_end = true;  // at the end of the epoch (else after eval_steps)
  double train_loss = 0;  // mean loss of the micro-batches since the previous evaluation
  double task_loss = 0;
  double soft_loss = 0;   // 0 without a teacher
  double hidden_loss = 0;  // sum of weight * hidden-state loss (0 without hidden_states)
  std::vector<double> hidden_losses;  // each hidden_states pair's loss, unweighted
  double samples_per_second = 0;
  double seconds = 0;     // training time since the previous evaluation
  metrics::MetricSet eval;
};

struct TrainState {
  int64_t epochs_done = 0;
  int64_t step = 0;
  std::vector<EvalRecord> history;
  int64_t best = -1;  // index into history
  double train_seconds = 0;
  util::Json fingerprint = util::Json::object();  // settings a resumed run must share
};

util::Json to_json(const EvalRecord& r);
EvalRecord eval_record_from_json(const util::Json& j);
util::Json to_json(const TrainState& s);
TrainState train_state_from_json(const util::Json& j);

// The marker file in every checkpoint directory llmc writes.
inline constexpr const char* kCheckpointMarker = ".llmc-checkpoints";

// Why `dir` cannot hold checkpoints, or "" when it can (it does not exist, is empty, or holds
// the marker): a non-empty directory without the marker is someone else's.
std::string foreign_checkpoint_dir(const std::string& dir);

class CheckpointDir {
 public:
  explicit CheckpointDir(std::string dir) : dir_(std::move(dir)) {}
  const std::string& path() const { return dir_; }
  std::string best_model() const;
  // Writes the last checkpoint: into a temporary directory, then renamed into place.
  // `extra`: trained tensors outside the student (hidden-state projections).
  void save(torch::jit::Module& student, torch::optim::Optimizer& optimizer,
            const TrainState& state, const std::vector<at::Tensor>& extra = {}) const;
  // The last checkpoint's state, or nothing when there is none.
  std::optional<TrainState> load_state() const;
  torch::jit::Module load_student() const;
  void load_optimizer(torch::optim::Optimizer& optimizer) const;
  // Copies the saved extra tensors into `extra` (same number and shapes).
  void load_extra(const std::vector<at::Tensor>& extra) const;
  void save_best(torch::jit::Module& student) const;
  // distill.qat: the float student as it stood when fake quantization began (the baseline of
  // the post-training quantization the report compares with).
  std::string before_qat_model() const;
  void save_before_qat(torch::jit::Module& student) const;
  bool has_checkpoint() const;
  // Removes what llmc wrote (last/, best.pt, their temporaries, the marker) and then the
  // directory if that left it empty; nothing when the marker is missing.
  void remove() const;

 private:
  std::string last() const;
  // Creates the directory if needed and writes the marker; refuses (UsageError) a foreign one.
  void prepare() const;
  std::string dir_;
};

}  // namespace llmc::distill
