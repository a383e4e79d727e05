// `llmc export-onnx`: TorchScript -> ONNX in C++ (prepare, annotate, lower, validate, save),
// then verified in ONNX Runtime against LibTorch on several input shapes, with the shared
// report (original TorchScript vs the ONNX file) and gates.
#pragma once

#include "llmc/job/job.h"
#include "llmc/onnx/recipe.h"

namespace llmc::onnx {

report::Report run_export(const ExportRecipe& recipe, const job::RunOptions& options);

}  // namespace llmc::onnx
