#include "llmc/onnx/validate.h"

#include <onnx/checker.h>
#include <onnx/shape_inference/implementation.h>

#include <string>
#include <utility>
#include <vector>

#include "llmc/util/error.h"

namespace llmc::onnx {

ValidationResult validate(::onnx::ModelProto& model) {
  ValidationResult r;
  try {
    ::onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    throw InternalError(std::string("the ONNX model llmc built fails ::onnx::checker (an llmc "
                                    "bug; please report it with the model): ") +
                        e.what());
  }
  // Shape inference runs on a copy (it writes value_info). Floating-point initializers of 1 KiB
  // and more (the weights) lend that copy no bytes: their data is moved out of `model` while the
  // copy is made and moved back right after; shape inference reads only their dims and type
  // (the initializers whose values it reads — shapes, axes, indices — are small integers).
  struct Lent {
    std::vector<std::pair<::onnx::TensorProto*, std::string>> bytes;
    ~Lent() {  // back into `model` on every path
      for (auto& [init, data] : bytes) init->mutable_raw_data()->swap(data);
    }
  };
  ::onnx::ModelProto copy;
  {
    Lent lent;
    for (auto& init : *model.mutable_graph()->mutable_initializer()) {
      const bool floating = init.data_type() == ::onnx::TensorProto::FLOAT ||
                            init.data_type() == ::onnx::TensorProto::FLOAT16 ||
                            init.data_type() == ::onnx::TensorProto::BFLOAT16 ||
                            init.data_type() == ::onnx::TensorProto::DOUBLE;
      if (!floating || init.raw_data().size() < 1024) continue;
      lent.bytes.emplace_back(&init, std::string());
      lent.bytes.back().second.swap(*init.mutable_raw_data());
    }
    copy = model;
  }
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
