// The pieces of a subcommand's run that every subcommand shares, from start-up to the written
// report: job::run (job.h) is made of them for the TorchScript-to-TorchScript subcommands, and
// export-onnx, whose artifact is an ONNX file measured in another runtime, uses the same pieces
// in a flow of its own (onnx/export.cpp). A guarantee of the runner (inputs protected from
// --force, the memory check, the report's provenance) lives here once, so no subcommand can
// miss it.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <torch/script.h>

#include "llmc/bench/measure.h"
#include "llmc/data/inputs.h"
#include "llmc/job/inputs.h"
#include "llmc/model/load.h"
#include "llmc/recipe/common.h"
#include "llmc/report/report.h"
#include "llmc/util/atomic_file.h"
#include "llmc/util/memory_budget.h"
#include "llmc/util/threads.h"

namespace llmc::job {

struct RunOptions {
  bool force = false;        // replace an existing output directory
  bool memory_check = true;  // refuse a model that cannot fit in memory (util/memory_budget.h)
  std::string recipe_path;   // for provenance and to protect it from --force
  std::string command_line;  // as typed, for provenance
};

// What no output may contain or replace, even with --force: the recipe file and every input
// path its schema declares (common.input_paths). Every subcommand's OutputDir takes this list.
std::vector<std::string> protected_paths(const recipe::CommonRecipe& common,
                                         const RunOptions& options);

// What a run needs in memory when its subcommand says nothing else: two copies of the model's
// weights at least, three as usually measured (docs/cli.md).
util::MemoryNeed default_memory_need(const std::string& command,
                                     const recipe::CommonRecipe& common);

// The recipe's thread_pool as util::configure_threads takes it (nullopt: auto).
std::optional<util::ThreadPool> thread_pool_of(const recipe::CommonRecipe& common);

// One run, started: constructing it sets the report's command and start time, configures the
// thread pools, checks memory before anything is loaded (throws InputError when the run cannot
// fit; a warning that it may not becomes the report's first warning) and opens the staging
// output directory, which refuses --force over the recipe's inputs (protected_paths).
class Session {
 public:
  Session(const std::string& command, const util::MemoryNeed& need,
          const recipe::CommonRecipe& common, const RunOptions& options);
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // In the order they are made.
  const recipe::CommonRecipe& common;
  const RunOptions& options;
  const std::optional<util::ThreadPool> pool;  // the recipe's thread_pool; nullopt: auto
  const util::ThreadSettings threads;
  report::Report report;  // the memory check's warning, if any, is its first warning
  util::OutputDir out;

  // The end every subcommand shares: evaluates the recipe's gates into the report (after any
  // the subcommand added), fills the provenance, writes report.json, report.md and
  // `extra_files` into the output directory and moves it into place.
  void finish(const std::vector<std::pair<std::string, std::string>>& extra_files = {});
  // The report's provenance (versions, recipe and its hash, threads, machine); finish() fills
  // it too, this is for an extra file that shows it (compare's report.html).
  void fill_provenance();
};

// The recipe's model as loaded (and what loading did to it), with its measurement inputs.
struct Original {
  torch::jit::Module model;
  model::LoadNotes notes;
  Inputs inputs;
};
Original load_original(const recipe::CommonRecipe& common);

// Records in the report what model::load did to the input model (PyTorch 2.x attention
// decomposed), in details.scaled_dot_product_attention and warnings.
void add_load_notes(const model::LoadNotes& notes, report::Report& r);

// The report's summary of one side's file: `shown` is the path the report names (the output
// directory's, not the staging one), `file` the file measured for its size and SHA-256.
void describe_file(report::ModelSide& side, const std::string& shown, const std::string& file);
// The parameter count and bytes of a TorchScript model.
void describe_weights(report::ModelSide& side, const torch::jit::Module& model);
// What the outputs were compared on: the inputs' source, rows and the latency batch's rows.
void describe_inputs(report::Report& r, const Inputs& inputs);

// Before a timed run with thread_pool auto: gives the threads to `pool` and, when they moved,
// runs `forward` once untimed (the first run after the threads move ran 1.7x slower: 49 vs 28
// ms for an int8 encoder after a float32 one, docs/cli.md#threads).
void settle_pool(util::ThreadPool pool, const std::function<void()>& forward);

// Latency over the recipe's bench runs after its warm-up, on a progress line called `label`:
// one function, or two timed alternately run by run (bench::time_alternating, with its untimed
// `before` steps).
bench::LatencyStats time_runs(const std::string& label, const std::function<void()>& fn,
                              const recipe::BenchSpec& bench, int64_t rows);
bench::PairedLatency time_alternating(const std::string& label, const std::function<void()>& a,
                                      const std::function<void()>& b,
                                      const recipe::BenchSpec& bench, int64_t rows,
                                      const std::vector<std::function<void()>>& before = {});

}  // namespace llmc::job
