// Runs an ONNX file in ONNX Runtime through llmc's runner script (tools/ort/ort_run.cjs, Node.js
// with onnxruntime-node): outputs for several input sets, and optionally latency and memory.
#pragma once

#include <string>
#include <vector>

#include <ATen/ATen.h>

namespace llmc::onnx {

struct NamedTensor {
  std::string name;
  at::Tensor tensor;
};

struct OrtRequest {
  std::string model;                           // path of the .onnx file
  std::vector<std::vector<NamedTensor>> runs;  // input sets
  int timing_run = -1;                         // which input set to time; -1: none
  int warmup = 3;
  int repeats = 20;
  int threads = 1;
};

struct OrtResponse {
  std::string version;
  std::vector<std::vector<at::Tensor>> outputs;  // per run, in the session's output order
  std::vector<std::string> output_names;
  std::vector<double> latency_ms;
  int64_t rss_before_bytes = 0;   // before the session was created
  int64_t rss_session_bytes = 0;
  int64_t peak_rss_bytes = 0;
};

// The runner script: `configured` if set, else $LLMC_ORT_RUNNER, else the one of this build.
// InternalError (exit 4) when none exists, saying how to install it.
std::string find_ort_runner(const std::string& configured);

// InputError when ONNX Runtime rejects the model or fails to run it (its message included).
OrtResponse run_onnxruntime(const OrtRequest& request, const std::string& runner);

}  // namespace llmc::onnx
