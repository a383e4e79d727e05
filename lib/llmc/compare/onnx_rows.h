// An ONNX file as a row of `llmc compare`: run in ONNX Runtime (the runner export-onnx verifies
// with, lib/llmc/onnx/ort.h) on the agreement batches, then timed on the latency batch in a
// second session of its own, whose peak memory is the row's memory.
#pragma once

#include <string>
#include <vector>

#include <torch/script.h>

#include "llmc/bench/measure.h"
#include "llmc/data/inputs.h"
#include "llmc/onnx/file_info.h"
#include "llmc/recipe/common.h"

namespace llmc::compare {

struct OnnxRow {
  onnx::OnnxFileInfo info;
  std::string runtime;                           // "onnxruntime 1.16.3"
  std::vector<std::vector<at::Tensor>> outputs;  // per agreement batch, flat
  bench::LatencyStats latency;
  bench::MemoryStats memory;
};

// `forward_args` names the batches' arguments (the reference's forward); the graph's inputs
// are fed by name. InputError when the graph needs an input the batches do not have.
OnnxRow run_onnx_row(const std::string& path, const std::string& runner,
                     const std::vector<std::string>& forward_args,
                     const std::vector<data::Batch>& batches, const data::Batch& latency,
                     const recipe::BenchSpec& bench, int threads);

}  // namespace llmc::compare
