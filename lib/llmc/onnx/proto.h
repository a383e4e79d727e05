// The ONNX protobuf classes (libonnx-dev), with the macros its headers need. LibTorch links the
// same libonnx, so these are the classes LibTorch itself uses.
#pragma once

#ifndef ONNX_ML
#define ONNX_ML 1
#endif
#ifndef ONNX_NAMESPACE
#define ONNX_NAMESPACE onnx
#endif

#include <onnx/onnx_pb.h>
