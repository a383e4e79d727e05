// The flow the TorchScript-to-TorchScript subcommands share (eval-freeze, quantize, prune,
// distill): load the original, build the measurement inputs, run the subcommand's transform,
// save the artifact into a staging directory, reload it from disk, measure original vs result on
// the same inputs (agreement, task metric, latency, memory, size), check the gates, write
// report.json and report.md, and move the directory into place. A subcommand supplies only its
// transform (and optional extra verification). It is built from the pieces in job/session.h,
// which export-onnx (an ONNX artifact, measured in ONNX Runtime) uses in a flow of its own.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <torch/script.h>

#include "llmc/data/inputs.h"
#include "llmc/job/inputs.h"
#include "llmc/job/session.h"
#include "llmc/model/forward.h"
#include "llmc/recipe/common.h"
#include "llmc/report/report.h"
#include "llmc/util/memory_budget.h"

namespace llmc::job {

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
  // Optional: the memory the run needs, checked before anything is loaded; by default
  // default_memory_need (session.h).
  std::function<util::MemoryNeed(const recipe::CommonRecipe&)> memory_need;
};

// Runs the job and returns its report. Throws llmc errors for bad input; gate failures are in
// the report (report.passed()), with the artifact and reports already written.
report::Report run(const Job& job, const recipe::CommonRecipe& common, const RunOptions& options);

// model::error_summary, by the name distill's trainer calls it.

// model::run_forward for the artifact a transformation made from `original_path`: a failure names the
// user's model (not the staging file) and says that the transformation, not the inputs, broke it.
c10::IValue run_result_forward(torch::jit::Module& result, const data::Batch& batch,
                               const std::string& original_path, const std::string& command);

}  // namespace llmc::job
