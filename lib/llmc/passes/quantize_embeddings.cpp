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

    torch::jit::WithInsertPoint guard(node);
    torch::jit::Value* indices = node->input(1);
    torch::jit::Value* table = graph.insertConstant(packed);
    table->setDebugName(node->input(0)->debugName() + "_int8_rows");
    torch::jit::Value* flat = graph.insert(c10::Symbol::fromQualString("aten::reshape"),
                                           {indices, std::vector<int64_t>{-1}});
    torch::jit::Value* count = graph.insert(c10::Symbol::fromQualString("aten::size"), {flat, 0});
    torch::jit::Value* offsets = graph.insert(c10::Symbol::fromQualString("aten::arange"),
                                              {count},
                                              {torch::jit::NamedValue("dtype", c10::IValue(static_cast<int64_t>(at::kLong)))});
    torch::jit::Value* rows = graph.insert(
        c10::Symbol::fromQualString("quantized::embedding_bag_byte_rowwise_offsets"),
        {table, flat, offsets, false, int64_t{0}, false, c10::IValue(), c10::IValue(), false});
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
