#include "llmc/passes/quantize_embeddings.h"

#include <algorithm>

#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/quantized/QTensorImpl.h>
#include <ATen/quantized/Quantizer.h>
#include <fmt/format.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>

namespace llmc::passes {

namespace {

at::Tensor prepack_byte_rows(const at::Tensor& weight) {
  static const auto op = c10::Dispatcher::singleton()
                             .findSchemaOrThrow("quantized::embedding_bag_byte_prepack", "")
                             .typed<at::Tensor(const at::Tensor&)>();
  return op.call(weight.contiguous());
}

// "self.bert.embeddings.word_embeddings.weight" -> "bert.embeddings.word_embeddings"
std::string module_name(const torch::jit::Value* weight) {
  std::string name = weight->debugName();
  if (name.rfind("self.", 0) == 0) name = name.substr(5);
  const std::string suffix = ".weight";
  if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
    name = name.substr(0, name.size() - suffix.size());
  }
  return name;
}

c10::Symbol sym(const char* s) { return c10::Symbol::fromQualString(s); }

// A quantized Linear's packed weight: where the graph reads it and its int8 matrix.
struct PackedMatrix {
  std::string attribute;  // attribute of self holding the packed params
  at::Tensor weight;      // quantized qint8 [out, in], the tensor the packed params keep
};

at::Tensor unpack_weight(const c10::IValue& packed) {
  static const auto op =
      c10::Dispatcher::singleton().findSchemaOrThrow("quantized::linear_unpack", "");
  torch::jit::Stack stack{packed};
  op.callBoxed(&stack);
  return stack.at(0).toTensor();
}

// The packed weights of dynamic and static int8 Linears read from attributes of self.
std::vector<PackedMatrix> packed_matrices(const torch::jit::Module& module,
                                          const torch::jit::Graph& graph) {
  std::vector<PackedMatrix> out;
  for (const torch::jit::Node* node : graph.nodes()) {
    if (node->kind() != sym("quantized::linear_dynamic") && node->kind() != sym("quantized::linear")) {
      continue;
    }
    const torch::jit::Node* get = node->input(1)->node();
    if (get->kind() != c10::prim::GetAttr || get->input(0) != graph.inputs().at(0)) continue;
    const std::string attribute = get->s(c10::attr::name);
    if (!module.hasattr(attribute)) continue;
    const bool seen = std::any_of(out.begin(), out.end(),
                                  [&](const PackedMatrix& p) { return p.attribute == attribute; });
    if (seen) continue;
    const at::Tensor w = unpack_weight(module.attr(attribute));
    if (w.scalar_type() == at::kQInt8 && w.dim() == 2) out.push_back({attribute, w});
  }
  return out;
}

bool per_channel(const at::Tensor& q) {
  return q.qscheme() == at::kPerChannelAffine || q.qscheme() == at::kPerChannelSymmetric;
}

// `q` holds `table`: its dequantized values are within half a quantization step of it.
bool holds(const at::Tensor& q, const at::Tensor& table) {
  if (q.sizes() != table.sizes()) return false;
  if (per_channel(q) && q.q_per_channel_axis() != 0) return false;
  const at::Tensor step = per_channel(q) ? q.q_per_channel_scales().to(at::kFloat).unsqueeze(1)
                                         : at::scalar_tensor(q.q_scale(), at::kFloat);
  return ((q.dequantize() - table).abs() <= step * 0.5 + 1e-6).all().item<bool>();
}

// The int8 codes of `q` as a per-tensor quantized tensor (scale 1, zero point 0) on the same
// storage: index_select gathers rows of it (LibTorch's index_select takes per-tensor tensors
// only), and the archive still holds one copy.
at::Tensor codes_view(const at::Tensor& q) {
  at::Tensor v = at::detail::make_tensor<at::QTensorImpl>(
      c10::Storage(q.storage()), q.key_set(), q.dtype(),
      at::make_per_tensor_affine_quantizer(1.0, 0, q.scalar_type()));
  v.unsafeGetTensorImpl()->set_sizes_and_strides(q.sizes(), q.strides());
  v.unsafeGetTensorImpl()->set_storage_offset(q.storage_offset());
  return v;
}

// Another constant of the graph (or another use of this one) reads the same fp32 table: a
// float32 layer tied to the embedding.
bool shared_in_float(const torch::jit::Graph& graph, const torch::jit::Node* embedding) {
  const torch::jit::Value* table = embedding->input(0);
  if (table->uses().size() > 1) return true;
  const at::Tensor w = torch::jit::toIValue(table)->toTensor();
  for (const torch::jit::Node* n : graph.nodes()) {
    if (n->kind() != c10::prim::Constant || n->output() == table) continue;
    const auto v = torch::jit::toIValue(n->output());
    if (v && v->isTensor() && v->toTensor().defined() && v->toTensor().is_alias_of(w)) return true;
  }
  return false;
}

// A lookup of the rows `flat` of `q` as float: dequantize(index_select(codes)), times the row
// scales (minus the row zero points) of a per-channel weight.
torch::jit::Value* shared_lookup(torch::jit::Module& module, torch::jit::Graph& graph,
                                 const PackedMatrix& packed, const std::string& base,
                                 torch::jit::Value* flat) {
  const at::Tensor& q = packed.weight;
  const bool channels = per_channel(q);
  const at::Tensor table = channels ? codes_view(q) : q;
  std::string attribute = base + "_int8_shared";
  for (int i = 1; module.hasattr(attribute); ++i) attribute = fmt::format("{}_int8_shared_{}", base, i);
  module.register_attribute(attribute, c10::TensorType::get(), table);
  torch::jit::Value* self = graph.inputs().at(0);
  torch::jit::Value* codes = graph.insertNode(graph.createGetAttr(self, attribute))->output();
  auto gather = [&](torch::jit::Value* t) {
    return graph.insert(sym("aten::index_select"), {t, int64_t{0}, flat});
  };
  torch::jit::Value* rows = graph.insert(sym("aten::dequantize"), {gather(codes)});
  if (!channels) return rows;
  const at::Tensor zero_points = q.q_per_channel_zero_points();
  if (zero_points.ne(0).any().item<bool>()) {
    torch::jit::Value* zp = graph.insertConstant(zero_points.to(at::kFloat).unsqueeze(1).contiguous());
    rows = graph.insert(sym("aten::sub"), {rows, gather(zp)});
  }
  torch::jit::Value* scales =
      graph.insertConstant(q.q_per_channel_scales().to(at::kFloat).unsqueeze(1).contiguous());
  scales->setDebugName(base + "_row_scale");
  return graph.insert(sym("aten::mul"), {rows, gather(scales)});
}

}  // namespace

EmbeddingResult quantize_embeddings(torch::jit::Module& module, torch::jit::Graph& graph,
                                    const std::function<bool(const std::string&)>& select) {
  EmbeddingResult result;
  std::vector<QuantizedEmbedding>& done = result.done;
  const std::vector<PackedMatrix> matrices = packed_matrices(module, graph);
  std::vector<torch::jit::Node*> targets;
  for (torch::jit::Node* node : graph.nodes()) {
    if (node->kind() != c10::Symbol::fromQualString("aten::embedding")) continue;
    const auto weight = torch::jit::toIValue(node->input(0));
    if (!weight || !weight->isTensor()) continue;
    const at::Tensor& w = weight->toTensor();
    if (w.dim() != 2 || w.scalar_type() != at::kFloat) continue;
    if (!select(module_name(node->input(0)))) continue;
    targets.push_back(node);
  }
  for (torch::jit::Node* node : targets) {
    const at::Tensor w = torch::jit::toIValue(node->input(0))->toTensor();
    QuantizedEmbedding q;
    q.name = module_name(node->input(0));
    q.rows = w.size(0);
    q.dim = w.size(1);
    q.bytes_before = w.numel() * static_cast<int64_t>(w.element_size());
    const auto tied = std::find_if(matrices.begin(), matrices.end(),
                                   [&](const PackedMatrix& p) { return holds(p.weight, w); });
    if (tied != matrices.end()) {
      torch::jit::WithInsertPoint guard(node);
      torch::jit::Value* indices = node->input(1);
      torch::jit::Value* flat = graph.insert(sym("aten::reshape"), {indices, std::vector<int64_t>{-1}});
      std::string base = q.name;
      std::replace(base.begin(), base.end(), '.', '_');
      torch::jit::Value* rows = shared_lookup(module, graph, *tied, base, flat);
      torch::jit::Value* shape = graph.insert(sym("aten::size"), {indices});
      torch::jit::Value* out_shape =
          graph.insert(sym("aten::add"), {shape, c10::IValue(c10::List<int64_t>({q.dim}))});
      node->output()->replaceAllUsesWith(graph.insert(sym("aten::reshape"), {rows, out_shape}));
      node->destroy();
      q.shares_packed_weight = tied->attribute;
      q.bytes_after = per_channel(tied->weight) ? q.rows * 4 : 0;
      done.push_back(q);
      continue;
    }
    if (shared_in_float(graph, node)) {
      result.left.push_back(
          {q.name, "the table is shared with a layer that stays float32 (a tied output "
                   "projection); an 8-bit copy would store it twice — quantize that layer too"});
      continue;
    }
    const at::Tensor packed = prepack_byte_rows(w);
    q.bytes_after = packed.numel() * static_cast<int64_t>(packed.element_size());

    // The packed rows are [uint8 x dim | float scale | float bias]: kept as three constants,
    // looked up with index_select. LibTorch 1.13 without fbgemm runs
    // quantized::embedding_bag_byte_rowwise_offsets as a scalar loop, 2.4 ms for 2048 rows of
    // 256 here; gathering the uint8 rows and scaling them in place takes 1.0 ms.
    const at::Tensor codes = packed.narrow(1, 0, q.dim).contiguous();
    const at::Tensor scale_bias = packed.narrow(1, q.dim, 8).contiguous().view(at::kFloat);
    const at::Tensor scales = scale_bias.narrow(1, 0, 1).contiguous();
    const at::Tensor biases = scale_bias.narrow(1, 1, 1).contiguous();
    torch::jit::WithInsertPoint guard(node);
    torch::jit::Value* indices = node->input(1);
    const std::string base = node->input(0)->debugName();
    auto constant = [&](const at::Tensor& t, const std::string& suffix) {
      torch::jit::Value* v = graph.insertConstant(t);
      v->setDebugName(base + suffix);
      return v;
    };
    torch::jit::Value* table = constant(codes, "_int8_rows");
    torch::jit::Value* row_scales = constant(scales, "_row_scale");
    torch::jit::Value* row_biases = constant(biases, "_row_bias");
    torch::jit::Value* flat = graph.insert(c10::Symbol::fromQualString("aten::reshape"),
                                           {indices, std::vector<int64_t>{-1}});
    auto gather = [&](torch::jit::Value* t) {
      return graph.insert(c10::Symbol::fromQualString("aten::index_select"), {t, int64_t{0}, flat});
    };
    torch::jit::Value* rows = graph.insert(
        c10::Symbol::fromQualString("aten::to"),
        {gather(table), c10::IValue(static_cast<int64_t>(at::kFloat)), false, false});
    rows = graph.insert(c10::Symbol::fromQualString("aten::mul_"), {rows, gather(row_scales)});
    rows = graph.insert(c10::Symbol::fromQualString("aten::add_"), {rows, gather(row_biases)});
    torch::jit::Value* shape = graph.insert(c10::Symbol::fromQualString("aten::size"), {indices});
    torch::jit::Value* out_shape = graph.insert(
        c10::Symbol::fromQualString("aten::add"),
        {shape, c10::IValue(c10::List<int64_t>({q.dim}))});
    torch::jit::Value* out = graph.insert(c10::Symbol::fromQualString("aten::reshape"),
                                          {rows, out_shape});
    node->output()->replaceAllUsesWith(out);
    node->destroy();
    done.push_back(q);
  }
  result.changed = static_cast<int64_t>(done.size());
  for (const auto& q : done) result.sites.push_back(q.name);
  torch::jit::EliminateDeadCode(graph.block());
  return result;
}

}  // namespace llmc::passes
