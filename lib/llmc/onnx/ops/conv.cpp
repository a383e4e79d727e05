// Convolutions and pooling: _convolution (what tracing records), conv1d/2d/3d, max/avg pooling,
// adaptive average/max pooling to 1 (GlobalAveragePool) or to an exact divisor of the input.
#include "llmc/onnx/lower_context.h"

namespace llmc::onnx {

namespace {

std::vector<int64_t> both_sides(const std::vector<int64_t>& pads) {
  std::vector<int64_t> out = pads;
  out.insert(out.end(), pads.begin(), pads.end());
  return out;
}

// Expands a one-element list to `n` spatial dims (torch accepts conv2d(..., stride=2)).
std::vector<int64_t> spatial(std::vector<int64_t> v, size_t n) {
  if (v.size() == 1 && n > 1) v.assign(n, v.front());
  return v;
}

void conv(LowerContext& c, const Node* n, size_t stride_i, size_t pad_i, size_t dil_i,
          size_t groups_i, bool transposed) {
  const auto t = c.dtype(n->output());
  const auto& w = c.info(n->input(1)).a;
  if (!w.isTensor()) c.unsupported(n, "convolution weight is not a tensor");
  const size_t k = static_cast<size_t>(w.toTensor().dim()) - 2;
  std::vector<std::string> ins{c.in_as(n->input(0), t), c.in_as(n->input(1), t)};
  if (!c.is_none(n->input(2))) ins.push_back(c.in_as(n->input(2), t));
  std::vector<int64_t> kernel;
  for (size_t i = 0; i < k; ++i) kernel.push_back(w.toTensor().size(static_cast<int64_t>(2 + i)));
  std::vector<Attr> attrs{attr("kernel_shape", kernel),
                          attr("strides", spatial(c.ints_arg(n, stride_i), k)),
                          attr("dilations", spatial(c.ints_arg(n, dil_i), k)),
                          attr("group", c.int_arg(n, groups_i))};
  const auto pad_v = c.static_arg(n, pad_i);
  if (pad_v.isString()) {
    if (pad_v.toStringRef() == "same") attrs.push_back(attr("auto_pad", "SAME_UPPER"));
  } else {
    attrs.push_back(attr("pads", both_sides(spatial(pad_v.toIntVector(), k))));
  }
  if (transposed) c.unsupported(n, "transposed convolution");
  c.emit(n, "Conv", ins, attrs);
}

}  // namespace

void register_conv(Registry& r) {
  r.add("aten::_convolution", [](LowerContext& c, const Node* n) {
    conv(c, n, 3, 4, 5, 8, c.bool_arg(n, 6));
  });
  for (const char* k : {"aten::conv1d", "aten::conv2d", "aten::conv3d"}) {
    r.add(k, [](LowerContext& c, const Node* n) { conv(c, n, 3, 4, 5, 6, false); });
  }
  for (const char* k : {"aten::max_pool1d", "aten::max_pool2d", "aten::max_pool3d"}) {
    r.add(k, [](LowerContext& c, const Node* n) {
      const auto kernel = c.ints_arg(n, 1);
      const size_t d = kernel.size();
      auto stride = c.ints_arg(n, 2);
      if (stride.empty()) stride = kernel;
      c.emit(n, "MaxPool", {c.in(n->input(0))},
             {attr("kernel_shape", kernel), attr("strides", spatial(stride, d)),
              attr("pads", both_sides(spatial(c.ints_arg(n, 3), d))),
              attr("dilations", spatial(c.ints_arg(n, 4), d)),
              attr("ceil_mode", c.bool_arg(n, 5) ? 1 : 0)});
    });
  }
  for (const char* k : {"aten::avg_pool1d", "aten::avg_pool2d", "aten::avg_pool3d"}) {
    r.add(k, [](LowerContext& c, const Node* n) {
      const auto kernel = c.ints_arg(n, 1);
      const size_t d = kernel.size();
      auto stride = c.ints_arg(n, 2);
      if (stride.empty()) stride = kernel;
      if (n->inputs().size() > 6 && !c.is_none(n->input(6))) {
        c.unsupported(n, "avg_pool with divisor_override");
      }
      c.emit(n, "AveragePool", {c.in(n->input(0))},
             {attr("kernel_shape", kernel), attr("strides", spatial(stride, d)),
              attr("pads", both_sides(spatial(c.ints_arg(n, 3), d))),
              attr("ceil_mode", c.bool_arg(n, 4) ? 1 : 0),
              attr("count_include_pad", c.bool_arg(n, 5) ? 1 : 0)});
    });
  }
  for (const char* k : {"aten::adaptive_avg_pool1d", "aten::adaptive_avg_pool2d",
                        "aten::adaptive_avg_pool3d", "aten::adaptive_max_pool2d"}) {
    r.add(k, [k](LowerContext& c, const Node* n) {
      const bool is_max = std::string(k) == "aten::adaptive_max_pool2d";
      if (is_max && n->outputs().size() > 1 && n->outputs()[1]->hasUses()) {
        c.unsupported(n, "adaptive max pooling indices");
      }
      const auto out = c.ints_arg(n, 1);
      const auto shape = c.shape(n->input(0));
      bool global = true;
      for (auto o : out) global = global && o == 1;
      if (global) {
        c.emit(n, is_max ? "GlobalMaxPool" : "GlobalAveragePool", {c.in(n->input(0))});
        return;
      }
      std::vector<int64_t> kernel;
      const size_t first = shape.size() - out.size();
      for (size_t i = 0; i < out.size(); ++i) {
        const int64_t in = shape[first + i];
        if (in < 0 || in % out[i] != 0) {
          c.unsupported(n, "adaptive pooling to a size that does not divide a fixed input size");
        }
        kernel.push_back(in / out[i]);
      }
      c.emit(n, is_max ? "MaxPool" : "AveragePool", {c.in(n->input(0))},
             {attr("kernel_shape", kernel), attr("strides", kernel)});
    });
  }
}

}  // namespace llmc::onnx
