#include "llmc/command_table.h"

namespace llmc {

const std::vector<CommandRow>& command_table() {
  static const std::vector<CommandRow> table = {
      {"eval-freeze", "eval_freeze",
       "eval mode (dropout and batch-norm deterministic), freeze and optimize a TorchScript "
       "model for inference, with a report"},
      {"quantize", "quantize",
       "post-training quantization: dynamic and static int8 with LibTorch's graph-mode passes, "
       "8-bit embedding tables, bf16, fp16 storage, with a report"},
      {"prune", "prune",
       "pruning: structured removal of feed-forward neurons, attention heads and conv channels "
       "(tensors shrink), unstructured and N:M zeros by magnitude or Wanda, with a report"},
      {"distill", "distill",
       "knowledge distillation: train a student from a teacher's soft targets (or fine-tune it "
       "alone) through TorchScript, with per-epoch evaluation, checkpoints and --resume",
       /*runs_models=*/true, /*resumable=*/true, /*takes_model_files=*/false,
       /*data_parallel=*/true},
      {"export-onnx", "export_onnx",
       "TorchScript to ONNX in C++ (opset 13-17, dynamic axes), checked by onnx::checker and "
       "strict shape inference, verified against ONNX Runtime on several input shapes"},
      {"compare", "compare",
       "several models side by side on the same inputs (TorchScript in LibTorch, ONNX in ONNX "
       "Runtime): task metric, agreement with a reference, size, latency, memory and serving "
       "cost, with report.json, report.md and report.html",
       /*runs_models=*/true, /*resumable=*/false, /*takes_model_files=*/true},
      {"run", "stages",
       "a pipeline of the subcommands above as stages (e.g. eval-freeze, quantize, "
       "export-onnx), each stage's artifact feeding the next, with a stage cache, gates per "
       "stage and on the final artifact, and a compare of every artifact in report.html",
       /*runs_models=*/true, /*resumable=*/false, /*takes_model_files=*/false,
       /*data_parallel=*/false, /*pipeline=*/true},
  };
  return table;
}

const CommandRow* find_command_row(std::string_view name_or_section) {
  for (const auto& row : command_table()) {
    if (row.name == name_or_section || row.section == name_or_section) return &row;
  }
  return nullptr;
}

}  // namespace llmc
