#include "llmc/compare/onnx_rows.h"

#include <fmt/format.h>

#include "llmc/onnx/ort.h"
#include "llmc/util/error.h"
#include "llmc/util/log.h"

namespace llmc::compare {

namespace {

std::vector<onnx::NamedTensor> graph_feeds(const std::string& path,
                                           const std::vector<std::string>& graph_inputs,
                                           const std::vector<std::string>& forward_args,
                                           const data::Batch& batch) {
  std::vector<onnx::NamedTensor> feeds;
  for (const auto& name : graph_inputs) {
    bool found = false;
    for (size_t i = 0; i < forward_args.size() && i < batch.args.size(); ++i) {
      if (forward_args[i] == name && batch.args[i].isTensor()) {
        feeds.push_back({name, batch.args[i].toTensor()});
        found = true;
        break;
      }
    }
    if (!found) {
      throw InputError(path, fmt::format("the ONNX graph's input \"{}\" is none of the reference "
                                         "model's forward arguments ({})",
                                         name, fmt::join(forward_args, ", ")),
                       "compare an ONNX file with the TorchScript model it was exported from");
    }
  }
  return feeds;
}

}  // namespace

OnnxRow run_onnx_row(const std::string& path, const std::string& runner,
                     const std::vector<std::string>& forward_args,
                     const std::vector<data::Batch>& batches, const data::Batch& latency,
                     const recipe::BenchSpec& bench, int threads) {
  OnnxRow row;
  row.info = onnx::read_onnx_file_info(path);
  log::info("running {} in ONNX Runtime on {} batches", path, batches.size());
  onnx::OrtRequest outputs;
  outputs.model = path;
  outputs.threads = threads;
  for (const auto& b : batches) {
    outputs.runs.push_back(graph_feeds(path, row.info.input_names, forward_args, b));
  }
  const onnx::OrtResponse answered = onnx::run_onnxruntime(outputs, runner);
  row.outputs = answered.outputs;
  row.runtime = "onnxruntime " + answered.version;

  // Timing and memory in a fresh session that runs only the latency batch.
  onnx::OrtRequest timing;
  timing.model = path;
  timing.threads = threads;
  timing.runs.push_back(graph_feeds(path, row.info.input_names, forward_args, latency));
  timing.timing_run = 0;
  timing.warmup = static_cast<int>(bench.warmup);
  timing.repeats = static_cast<int>(bench.runs);
  const onnx::OrtResponse timed = onnx::run_onnxruntime(timing, runner);
  row.latency = bench::summarize(timed.latency_ms, latency.rows);
  row.memory.peak_rss_bytes = timed.peak_rss_bytes;
  row.memory.delta_rss_bytes = timed.peak_rss_bytes - timed.rss_before_bytes;
  row.memory.isolated = true;
  return row;
}

}  // namespace llmc::compare
