// Models from `llmc quantize`:
// - quantized::linear_dynamic (dynamic int8 Linear, weight in LibTorch's packed params) becomes
//   the integer-matmul form: DynamicQuantizeLinear(x) -> MatMulInteger(x_q, W_q^T) -> Cast ->
//   Mul(x_scale * w_scale) -> Add(bias), which ONNX Runtime fuses and runs with int8 kernels.
//   Per-tensor and per-channel weights; the activation is quantized per tensor over 8 bits
//   (LibTorch may use 7 with reduce_range), hence the looser quantized tolerance.
// - A tied embedding's lookup in that weight (passes/quantize_embeddings):
//   dequantize(index_select(static qint8 [V, D], 0, ids)) becomes Gather on axis 1 of the same
//   [D, V] initializer MatMulInteger reads, Transpose, DequantizeLinear — one copy in the file.
// - quantized::embedding_bag_byte_rowwise_offsets with one index per bag (llmc's 8-bit
//   embedding tables) becomes a Gather of the uint8 rows, their scale and their bias.
#include <ATen/core/dispatch/Dispatcher.h>
#include <fmt/format.h>

#include "llmc/onnx/lower_context.h"

namespace llmc::onnx {

namespace {

// (weight as a quantized qint8 tensor, bias or undefined) from LibTorch's packed params.
std::pair<at::Tensor, at::Tensor> unpack_linear(const c10::IValue& packed) {
  static const auto op =
      c10::Dispatcher::singleton().findSchemaOrThrow("quantized::linear_unpack", "");
  torch::jit::Stack stack{packed};
  op.callBoxed(&stack);
  at::Tensor w = stack.at(0).toTensor();
  at::Tensor b = stack.at(1).isNone() ? at::Tensor() : stack.at(1).toTensor();
  return {w, b};
}

}  // namespace

void register_quantized(Registry& r) {
  r.add("quantized::linear_dynamic", [](LowerContext& c, const Node* n) {
    if (!c.is_static(n->input(1))) c.unsupported(n, "packed weights computed from the inputs");
    const auto [w, bias] = unpack_linear(c.static_arg(n, 1));
    if (w.scalar_type() != at::kQInt8) c.unsupported(n, "only qint8 weights are supported");
    const std::string prefix = fmt::format("{}", n->input(1)->debugName());
    std::string w_scale, w_zp;
    const auto scheme = w.qscheme();
    if (scheme == at::kPerTensorAffine || scheme == at::kPerTensorSymmetric) {
      w_scale = c.b.scalar(w.q_scale(), at::kFloat);
      w_zp = c.b.constant(at::scalar_tensor(w.q_zero_point(), at::kChar));
    } else if (scheme == at::kPerChannelAffine || scheme == at::kPerChannelSymmetric) {
      if (w.q_per_channel_axis() != 0) c.unsupported(n, "per-channel weights on axis other than 0");
      w_scale = c.b.initializer(w.q_per_channel_scales().to(at::kFloat), prefix + ".scale");
      w_zp = c.b.initializer(w.q_per_channel_zero_points().to(at::kChar), prefix + ".zero_point");
    } else {
      c.unsupported(n, "this weight quantization scheme");
    }
    const std::string x = c.in_as(n->input(0), at::kFloat);
    const auto q = c.b.node("DynamicQuantizeLinear", {x}, 3);
    const std::string acc = c.b.node1(
        "MatMulInteger", {q[0], c.int8_codes_transposed(w, prefix + ".weight_int8"), q[2], w_zp});
    const std::string scale = c.b.node1("Mul", {q[1], w_scale});
    std::string y = c.b.node1("Mul", {c.cast(acc, at::kInt, at::kFloat), scale});
    if (bias.defined()) y = c.b.node1("Add", {y, c.b.initializer(bias.to(at::kFloat), prefix + ".bias")});
    c.out(n->output(), y);
  });
  r.add("aten::dequantize", [](LowerContext& c, const Node* n) {
    const Node* gather = n->input(0)->node();
    if (gather->kind() != c10::aten::index_select || !c.is_static(gather->input(0))) {
      c.unsupported(n, "only rows gathered from a quantized weight (a tied embedding)");
    }
    const at::Tensor q = c.static_arg(gather, 0).toTensor();
    if (q.qscheme() != at::kPerTensorAffine && q.qscheme() != at::kPerTensorSymmetric) {
      c.unsupported(n, "rows of a weight that is not quantized per tensor");
    }
    c.emit(n, "DequantizeLinear",
           {c.in(n->input(0)), c.b.scalar(q.q_scale(), at::kFloat),
            c.b.constant(at::scalar_tensor(q.q_zero_point(), at::kChar))});
  });
  r.add("quantized::embedding_bag_byte_rowwise_offsets", [](LowerContext& c, const Node* n) {
    if (!c.is_static(n->input(0))) c.unsupported(n, "a packed table computed from the inputs");
    const at::Tensor packed = c.static_arg(n, 0).toTensor();
    if (packed.scalar_type() != at::kByte || packed.dim() != 2 || packed.size(1) <= 8) {
      c.unsupported(n, "a packed table that is not uint8 rows with a float scale and bias");
    }
    // One index per bag (offsets = 0..n-1), sum mode, no per-sample weights: a plain lookup.
    const auto& idx = c.info(n->input(1));
    const auto& off = c.info(n->input(2));
    for (const auto& [i, o] : {std::make_pair(idx.a, off.a), std::make_pair(idx.b, off.b)}) {
      const auto count = i.toTensor().numel();
      if (!off.a.isTensor() || !o.toTensor().equal(at::arange(count, o.toTensor().options()))) {
        c.unsupported(n, "bags of more than one index (only one-index lookups are supported)");
      }
    }
    if (c.int_arg(n, 4) != 0) c.unsupported(n, "modes other than sum");
    if (n->inputs().size() > 6 && !c.is_none(n->input(6))) c.unsupported(n, "per-sample weights");
    const int64_t dim = packed.size(1) - 8;
    const at::Tensor data = packed.narrow(1, 0, dim).contiguous();
    const at::Tensor scale_bias = packed.narrow(1, dim, 8).contiguous().view(at::kFloat);  // [V, 2]
    const std::string prefix = n->input(0)->debugName();
    const std::string rows = c.b.initializer(data, prefix + ".rows_uint8");
    const std::string scale = c.b.initializer(scale_bias.narrow(1, 0, 1).contiguous(), prefix + ".scale");
    const std::string bias = c.b.initializer(scale_bias.narrow(1, 1, 1).contiguous(), prefix + ".bias");
    const std::string ids = c.in_as(n->input(1), at::kLong);
    std::string v = c.cast(c.b.node1("Gather", {rows, ids}, {attr("axis", 0)}), at::kByte, at::kFloat);
    v = c.b.node1("Mul", {v, c.b.node1("Gather", {scale, ids}, {attr("axis", 0)})});
    c.emit(n, "Add", {v, c.b.node1("Gather", {bias, ids}, {attr("axis", 0)})});
  });
}

}  // namespace llmc::onnx
