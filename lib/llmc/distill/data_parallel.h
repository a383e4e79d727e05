// Data-parallel training on LibTorch's own distributed stack: rank 0's c10d::TCPStore for the
// rendezvous and c10d::ProcessGroupGloo for the collectives. Every collective waits at most
// `timeout`; a failed or timed-out one (another worker died, was killed or hangs) becomes an
// InternalError naming this worker and what it was doing, so every rank exits non-zero instead
// of waiting forever.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <torch/script.h>
#include <torch/torch.h>

#include "llmc/data/inputs.h"
#include "llmc/distill/world.h"
#include "llmc/metrics/task_metrics.h"
#include "llmc/recipe/common.h"

namespace llmc::distill {

class DataParallel {
 public:
  // Joins the other workers (blocks until all WORLD_SIZE have, at most `timeout`).
  DataParallel(World world, std::chrono::seconds timeout);
  ~DataParallel();
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  const World& world() const { return world_; }
  int rank() const { return world_.rank; }
  int size() const { return world_.size; }
  bool leader() const { return world_.rank == 0; }

  // Rank 0's parameters and buffers into every worker's module (same structure everywhere).
  void broadcast_module(torch::jit::Module& module);
  // Rank 0's bytes to every worker (`bytes` is replaced on the others).
  void broadcast_bytes(std::string& bytes, const std::string& what);
  // Sums `values` over the workers, in place (float64).
  void all_reduce_sum(std::vector<double>& values, const std::string& what);
  // Sums a tensor over the workers, in place.
  void all_reduce_sum(at::Tensor& tensor, const std::string& what);
  // Sums the gradients of `params` over the workers, in flat buffers of at most `bucket_bytes`
  // (a missing gradient counts as zeros and is created). Each worker has already weighted its
  // gradients by its share of the global batch, so the sum is the global batch's mean.
  void all_reduce_gradients(const std::vector<at::Tensor>& params, int64_t bucket_bytes);
  // Fails (InternalError) unless every worker holds the same parameter values as rank 0.
  void check_same_parameters(torch::jit::Module& module);
  // Waits for every worker.
  void barrier(const std::string& what);
  // Seconds spent in collectives so far (the communication share of a step).
  double communication_seconds() const { return comm_seconds_; }

 private:
  struct Group;  // the TCPStore and the Gloo process group (c10d headers stay in the .cpp)
  // Runs one collective: starts it, waits for it (at most the timeout), times it, and turns a
  // failure into an InternalError saying `what` failed.
  template <class Start>
  void run(const std::string& what, Start start);

  World world_;
  std::chrono::seconds timeout_;
  std::unique_ptr<Group> group_;
  double comm_seconds_ = 0;
};

// The evaluation metrics with the batches shared among the workers: each runs its own
// (worker_eval_batches) through `logits`; a classifier's logits are placed at their rows of one
// [rows, classes] buffer (`classes` wide, zeros elsewhere) and summed over the workers, a
// language model's summed next-token loss and token count are summed. Every worker then computes
// the same metrics, equal to one process evaluating every batch.
metrics::MetricSet sharded_metrics(DataParallel& dp, const data::InputSet& eval,
                                   const recipe::TaskSpec& task, int64_t classes,
                                   const std::function<at::Tensor(const data::Batch&)>& logits);

}  // namespace llmc::distill
