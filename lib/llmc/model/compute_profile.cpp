#include "llmc/model/compute_profile.h"

#include <string_view>

#include "llmc/model/graph_nodes.h"
#include "llmc/model/inspect.h"

namespace llmc::model {

namespace {

bool is_product(std::string_view kind) {
  for (const char* k : {"aten::linear", "aten::matmul", "aten::mm", "aten::addmm", "aten::bmm",
                        "aten::baddbmm", "aten::einsum", "aten::lstm", "aten::gru",
                        "aten::rnn_tanh", "aten::rnn_relu", "aten::bilinear"}) {
    if (kind == k) return true;
  }
  return false;
}

bool is_convolution(std::string_view kind) {
  for (const char* k : {"aten::conv1d", "aten::conv2d", "aten::conv3d", "aten::_convolution",
                        "aten::convolution", "aten::conv_transpose1d", "aten::conv_transpose2d",
                        "aten::conv_transpose3d", "aten::mkldnn_convolution"}) {
    if (kind == k) return true;
  }
  return false;
}

// An int8 kernel: quantized::linear, linear_dynamic, conv2d, quantized_lstm ...; not the packing,
// (de)quantizing or the element-wise quantized ops around them.
bool is_int8_kernel(std::string_view kind) {
  const bool quantized = kind.rfind("quantized::", 0) == 0 || kind == "aten::quantized_lstm" ||
                         kind == "aten::quantized_gru";
  if (!quantized) return false;
  if (kind.find("prepack") != std::string_view::npos ||
      kind.find("unpack") != std::string_view::npos) {
    return false;
  }
  for (const char* part : {"linear", "conv", "lstm", "gru", "matmul"}) {
    if (kind.find(part) != std::string_view::npos) return true;
  }
  return false;
}

}  // namespace

ComputeProfile compute_profile(const torch::jit::Module& module) {
  ComputeProfile p;
  const WeightStats weights = weight_stats(module);
  const bool half = weights.half_bytes > weights.float32_bytes;
  // The methods of every module instance, read where they are: inlining would have to touch
  // the callees' graphs, which the passes after this rewrite in place.
  for (const auto& m : module.modules()) {
    for (const auto& method : m.get_methods()) {
      for (const torch::jit::Node* node : graph_nodes(*method.graph())) {
        const std::string_view kind = node->kind().toQualString();
        if (is_int8_kernel(kind)) {
          ++p.int8_ops;
        } else if (is_product(kind)) {
          ++(half ? p.half_products : p.float_products);
        } else if (is_convolution(kind)) {
          ++p.convolutions;
        }
      }
    }
  }
  return p;
}

util::ThreadPool preferred_pool(const ComputeProfile& p) {
  const int64_t openmp = p.half_products + p.int8_ops + p.convolutions;
  return p.float_products > openmp ? util::ThreadPool::blas : util::ThreadPool::libtorch;
}

util::ThreadPool pool_for(const torch::jit::Module& module) {
  if (const auto fixed = util::thread_plan().fixed) return *fixed;
  return preferred_pool(compute_profile(module));
}

util::ThreadPool use_pool_for(const torch::jit::Module& module) {
  return util::use_pool(pool_for(module));
}

}  // namespace llmc::model
