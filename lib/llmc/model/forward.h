// Running a TorchScript model's forward on a batch: without autograd, and with the
// interpreter's error turned into an InputError that names the model and says what went wrong.
#pragma once

#include <string>

#include <torch/script.h>

#include "llmc/data/inputs.h"

namespace llmc::model {

// The line of a TorchScript interpreter error that says what went wrong: its last non-empty
// line ("RuntimeError: index out of range in self"), after a traceback of the model's code.
std::string error_summary(const std::string& what);

// Runs forward on one batch without autograd; model errors become InputError naming the model.
c10::IValue run_forward(torch::jit::Module& module, const data::Batch& batch,
                        const std::string& model_path);

}  // namespace llmc::model
