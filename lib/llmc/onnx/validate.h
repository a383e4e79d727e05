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

ValidationResult validate(const ::onnx::ModelProto& model);

}  // namespace llmc::onnx
