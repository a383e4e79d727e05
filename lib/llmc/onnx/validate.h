// Step 4: ::onnx::checker and strict shape inference (types checked, node errors thrown) on the
// built model, before anything is written. A failure is llmc's bug: InternalError (exit 4).
#pragma once

#include <string>

#include "llmc/onnx/proto.h"

namespace llmc::onnx {

struct ValidationResult {
  std::string checker = "passed";
  std::string shape_inference = "passed (strict: types checked, node errors fatal)";
};

// `model` is unchanged on return; its weights' bytes are lent out while a copy for shape inference
// is made, so that copy does not double a large model's memory.
ValidationResult validate(::onnx::ModelProto& model);

}  // namespace llmc::onnx
