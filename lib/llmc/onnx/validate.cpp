#include "llmc/onnx/validate.h"

#include <onnx/checker.h>
#include <onnx/shape_inference/implementation.h>

#include "llmc/util/error.h"

namespace llmc::onnx {

ValidationResult validate(const ::onnx::ModelProto& model) {
  ValidationResult r;
  try {
    ::onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    throw InternalError(std::string("the ONNX model llmc built fails ::onnx::checker (an llmc "
                                    "bug; please report it with the model): ") +
                        e.what());
  }
  ::onnx::ModelProto copy = model;
  try {
    ::onnx::ShapeInferenceOptions options(/*check_type=*/true, /*error_mode=*/1,
                                        /*data_propagation=*/false);
    ::onnx::shape_inference::InferShapes(copy, ::onnx::OpSchemaRegistry::Instance(), options);
  } catch (const std::exception& e) {
    throw InternalError(std::string("the ONNX model llmc built fails strict shape inference (an "
                                    "llmc bug; please report it with the model): ") +
                        e.what());
  }
  return r;
}

}  // namespace llmc::onnx
