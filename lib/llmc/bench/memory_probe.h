// Peak memory of one model, measured in a separate process: the llmc binary re-runs itself as
// `llmc __memory-probe MODEL INPUTS THREADS POOL [ENGINE]`, loads the model, runs the batch twice and reports
// its resident-memory high-water mark. In one process two loaded models cannot be told apart.
#pragma once

#include <optional>
#include <string>

#include "llmc/bench/measure.h"
#include "llmc/data/inputs.h"
#include "llmc/util/threads.h"

namespace llmc::bench {

// Measures `model_path` on `batch` in a child process. Falls back to an in-process measurement
// (isolated = false) when the child cannot run, with the reason in `note`.
MemoryStats measure_model_memory(const std::string& model_path, const data::Batch& batch,
                                 int threads, std::optional<util::ThreadPool> pool,
                                 const std::string& quantized_engine, std::string& note);

// The child's side: prints {"baseline_rss_bytes": .., "peak_rss_bytes": ..} on stdout.
// `inputs_path` holds the batch arguments as a pickled tuple (torch::pickle_save). A pool of
// nullopt (auto) is the model's preferred one (model::use_pool_for).
int memory_probe_main(const std::string& model_path, const std::string& inputs_path, int threads,
                      std::optional<util::ThreadPool> pool,
                      const std::string& quantized_engine);

}  // namespace llmc::bench
