// The flow the TorchScript-to-TorchScript subcommands share (eval-freeze, quantize, prune,
// distill): load the original, build the measurement inputs, run the subcommand's transform,
// save the artifact into a staging directory, reload it from disk, measure original vs result on
// the same inputs (agreement, task metric, latency, memory, size), check the gates, write
// report.json and report.md, and move the directory into place. A subcommand supplies only its
// transform (and optional extra verification). export-onnx still runs its own copy of this flow
// (onnx/export.cpp run_export) with the same OutputDir, protected paths and report writer.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <torch/script.h>

#include "llmc/util/memory_budget.h"
#include "llmc/model/load.h"
#include "llmc/data/inputs.h"
#include "llmc/recipe/common.h"
#include "llmc/report/report.h"
#include "llmc/util/atomic_file.h"
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

struct TransformResult {
  torch::jit::Module artifact;
  // What the result is compared against; default: the original, loaded afresh, in eval mode.
  std::optional<torch::jit::Module> reference;
  // The file the reference comes from when it is not the recipe's model (distill: the
  // teacher); the report's "original" side then describes that file.
  std::string reference_path;
  // More files for the output directory (name, content), e.g. a chart next to report.md.
  std::vector<std::pair<std::string, std::string>> extra_files;
  // Runs once the output directory is in place (e.g. removing training checkpoints).
  std::function<void()> after_commit;
  util::Json details = util::Json::object();
  std::vector<std::string> warnings;
  // The quantized engine the artifact must run with ("onednn", "qnnpack"); empty: unchanged.
  // Every process that measures the artifact selects it.
  std::string quantized_engine;
};

// Everything a transform may look at.
struct TransformInput {
  const recipe::CommonRecipe& common;
  const data::InputSet& inputs;        // agreement inputs (data batches or example batch)
  const data::Batch& latency_batch;    // the batch latency is measured on
  const data::SampleTable* samples = nullptr;  // the recipe's data as read; null without data
};

// Records in the report what model::load did to the input model (PyTorch 2.x attention
// decomposed), in details.scaled_dot_product_attention and warnings.
void add_load_notes(const model::LoadNotes& notes, report::Report& r);

// Runs passes::conv1d_to_linear on `model` (GPT-2's Conv1D layers become Linear layers for
// quantize and prune) and records it in `t`: details.conv1d_as_linear (the layers' names) and a
// warning naming the layers it had to leave alone.
void canonicalize_matrix_layers(torch::jit::Module& model, TransformResult& t);

// Calibration batches for a subcommand that measures activations (prune's wanda, quantize's
// static-int8): the first `count` batches of `spec` (a JSONL file of their own, e.g. training
// samples) when given, else of the recipe's data in `in`. `source` names where they came from.
data::InputSet calibration_batches(const torch::jit::Module& model,
                                   const std::optional<recipe::DataSpec>& spec, int64_t count,
                                   const TransformInput& in);

struct Job {
  std::string command;  // "eval-freeze"
  // Builds the artifact from a freshly loaded original.
  std::function<TransformResult(torch::jit::Module original, const TransformInput&)> transform;
  // Optional: more checks on the artifact as reloaded from disk; may add details, warnings and
  // gates to the report.
  std::function<void(torch::jit::Module& artifact, const TransformInput&, report::Report&)> verify;
  // Optional: the memory the run needs, checked before anything is loaded; by default two copies
  // of the model's weights at least and three as usually measured (docs/cli.md).
  std::function<util::MemoryNeed(const recipe::CommonRecipe&)> memory_need;
};

// The memory check before loading (util::check_memory): throws InputError when the run cannot
// fit; returns a warning for the report when it may not, else "".
std::string check_memory(const Job& job, const recipe::CommonRecipe& common,
                         const RunOptions& options);

// The report's provenance (versions, recipe and its hash, command line, threads, machine);
// write_report calls it, and a renderer that needs it before then (report.html) may too.
void fill_provenance(report::Report& r, const RunOptions& options,
                     const util::ThreadSettings& threads);

// The end every subcommand shares: evaluates the recipe's gates into `r` (after any the
// subcommand added), fills the provenance, writes report.json, report.md and `extra_files`
// into `out`, and moves it into place.
void write_report(report::Report& r, const recipe::CommonRecipe& common,
                  const RunOptions& options, const util::ThreadSettings& threads,
                  util::OutputDir& out,
                  const std::vector<std::pair<std::string, std::string>>& extra_files = {});

// Runs the job and returns its report. Throws llmc errors for bad input; gate failures are in
// the report (report.passed()), with the artifact and reports already written.
report::Report run(const Job& job, const recipe::CommonRecipe& common, const RunOptions& options);

// The line of a TorchScript interpreter error that says what went wrong: its last non-empty
// line ("RuntimeError: index out of range in self"), after a traceback of the model's code.
std::string error_summary(const std::string& what);

// Runs forward on one batch without autograd; model errors become InputError naming the model.
c10::IValue run_forward(torch::jit::Module& module, const data::Batch& batch,
                        const std::string& model_path);
// run_forward for the artifact a transformation made from `original_path`: a failure names the
// user's model (not the staging file) and says that the transformation, not the inputs, broke it.
c10::IValue run_result_forward(torch::jit::Module& result, const data::Batch& batch,
                               const std::string& original_path, const std::string& command);

// Loads the measurement inputs of a recipe for a model (example_inputs and/or data). The data's
// values are checked for the task (data::read_samples) and its token ids against the model's
// input embedding table (check_token_ids), each error naming file:line.
struct Inputs {
  data::InputSet agreement;
  data::Batch latency;
  std::optional<data::SampleTable> samples;  // the recipe's data, when it has some
};
Inputs load_inputs(const recipe::CommonRecipe& common, const torch::jit::Module& model);

// Reads a data file for `model` (read_samples for the recipe's task) and checks its token ids
// against the model's embedding table when the model has a recognisable one.
data::SampleTable read_checked_samples(const recipe::DataSpec& spec, const recipe::TaskKind task,
                                       const torch::jit::Module& model,
                                       const std::string& model_path);

// data::check_token_ids against `model`'s input embedding table, when it has one llmc
// recognises (model::input_vocab_size).
void check_token_ids(const data::SampleTable& table, const torch::jit::Module& model,
                     const std::string& model_path);

}  // namespace llmc::job
