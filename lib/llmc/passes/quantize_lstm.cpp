#include "llmc/passes/quantize_lstm.h"

#include <ATen/core/dispatch/Dispatcher.h>
#include <fmt/format.h>
#include <torch/csrc/jit/ir/ir.h>

namespace llmc::passes {

namespace {

using torch::jit::Node;
using torch::jit::Value;

c10::IValue call_op(const char* name, std::vector<c10::IValue> args) {
  const auto op = c10::Dispatcher::singleton().findSchemaOrThrow(name, "");
  torch::jit::Stack stack(std::move(args));
  op.callBoxed(&stack);
  return stack.at(0);
}

// "self.encoder.lstm._flat_weights" or "self.encoder.lstm.weight_ih_l0" -> "encoder.lstm".
std::string module_name(const std::string& debug_name) {
  std::string name = debug_name;
  if (name.rfind("self.", 0) == 0) name = name.substr(5);
  const auto dot = name.rfind('.');
  return dot == std::string::npos ? name : name.substr(0, dot);
}

// The flat weights of an aten::lstm: a constant Tensor[] (scripted nn.LSTM, frozen), or a
// ListConstruct of constant tensors (traced). Empty when they are not constants.
std::vector<at::Tensor> constant_weights(Value* params, std::string& name) {
  if (auto list = torch::jit::toIValue(params)) {
    if (!list->isTensorList()) return {};
    if (params->hasDebugName()) name = module_name(params->debugName());
    return list->toTensorVector();
  }
  Node* node = params->node();
  if (node->kind() != c10::prim::ListConstruct || node->inputs().empty()) return {};
  std::vector<at::Tensor> out;
  for (Value* v : node->inputs()) {
    const auto t = torch::jit::toIValue(v);
    if (!t || !t->isTensor()) return {};
    out.push_back(t->toTensor());
  }
  if (node->input(0)->hasDebugName()) name = module_name(node->input(0)->debugName());
  return out;
}

bool constant_bool(Value* v, bool& out) {
  const auto iv = torch::jit::toIValue(v);
  if (!iv || !iv->isBool()) return false;
  out = iv->toBool();
  return true;
}

}  // namespace

QuantizeLstmResult quantize_lstm(torch::jit::Graph& graph, const QuantizeLstmOptions& options) {
  QuantizeLstmResult result;
  std::vector<LeftAlone>& skipped = result.left;
  const c10::FunctionSchema& schema =
      c10::Dispatcher::singleton().findSchemaOrThrow("aten::lstm", "input").schema();
  std::vector<Node*> targets;
  for (Node* node : graph.nodes()) {
    if (node->kind() == c10::aten::lstm && node->maybeSchema() &&
        node->schema().overload_name() == schema.overload_name()) {
      targets.push_back(node);
    }
  }
  std::vector<QuantizedLstm>& done = result.done;
  int64_t counter = 0;
  for (Node* node : targets) {
    // aten::lstm.input(input, hx, params, has_biases, num_layers, dropout, train, bidirectional,
    //                  batch_first)
    std::string name;
    const std::vector<at::Tensor> weights = constant_weights(node->input(2), name);
    if (name.empty() && !weights.empty() && options.name_by_weight) name = options.name_by_weight(weights[0]);
    if (name.empty()) name = fmt::format("lstm#{}", counter);
    ++counter;
    if (weights.empty()) {
      if (options.select(name)) skipped.push_back({name, "its weights are not constants of the frozen graph"});
      continue;
    }
    if (!options.select(name)) continue;
    bool has_biases = false, bidirectional = false;
    const auto layers_iv = torch::jit::toIValue(node->input(4));
    if (!constant_bool(node->input(3), has_biases) || !constant_bool(node->input(7), bidirectional) ||
        !layers_iv || !layers_iv->isInt()) {
      skipped.push_back({name, "has_biases, num_layers or bidirectional is not a constant"});
      continue;
    }
    const int64_t layers = layers_iv->toInt();
    const int64_t directions = bidirectional ? 2 : 1;
    const int64_t per_cell = has_biases ? 4 : 2;
    if (static_cast<int64_t>(weights.size()) != layers * directions * per_cell) {
      skipped.push_back({name, fmt::format("{} weight tensors for {} layer(s) x {} direction(s): an "
                                           "LSTM with projections (proj_size), which "
                                           "aten::quantized_lstm does not take",
                                           weights.size(), layers, directions)});
      continue;
    }
    QuantizedLstm q;
    q.name = name;
    q.layers = layers;
    q.bidirectional = bidirectional;
    q.hidden_size = weights[1].size(1);
    q.input_size = weights[0].size(1);
    std::vector<c10::IValue> cells;
    for (int64_t cell = 0; cell < layers * directions; ++cell) {
      const at::Tensor& w_ih = weights[cell * per_cell];
      const at::Tensor& w_hh = weights[cell * per_cell + 1];
      const at::Tensor b_ih = has_biases ? weights[cell * per_cell + 2] : at::zeros({w_ih.size(0)});
      const at::Tensor b_hh = has_biases ? weights[cell * per_cell + 3] : at::zeros({w_hh.size(0)});
      q.bytes_before += (w_ih.numel() + w_hh.numel()) * 4 + (has_biases ? (b_ih.numel() + b_hh.numel()) * 4 : 0);
      q.bytes_after += w_ih.numel() + w_hh.numel() + (b_ih.numel() + b_hh.numel()) * 4;
      // The cell computes with the packed weights, biases included (QuantizedCellParamsDynamic::
      // linear_ih/_hh); the float biases it is also given are kept for unpacking.
      // aten::quantized_lstm requires biases: an LSTM without them gets zeros.
      const c10::IValue packed_ih = call_op(
          "quantized::linear_prepack", {options.quantize_weight(w_ih.contiguous()), b_ih.contiguous()});
      const c10::IValue packed_hh = call_op(
          "quantized::linear_prepack", {options.quantize_weight(w_hh.contiguous()), b_hh.contiguous()});
      cells.push_back(call_op("quantized::make_quantized_cell_params_dynamic",
                              {packed_ih, packed_hh, b_ih.contiguous(), b_hh.contiguous(),
                               options.reduce_range}));
    }
    torch::jit::WithInsertPoint before(node);
    std::vector<Value*> cell_values;
    for (const auto& cell : cells) {
      const auto v = torch::jit::tryInsertConstant(graph, cell);
      if (!v) break;
      cell_values.push_back(*v);
    }
    if (cell_values.size() != cells.size()) {
      skipped.push_back({name, "its packed cells could not be graph constants"});
      continue;
    }
    Node* list = graph.createList(cells.front().type(), cell_values);
    graph.insertNode(list);
    const std::vector<torch::jit::NamedValue> args = {
        node->input(0), node->input(1), list->output(), graph.insertConstant(true), node->input(4),
        node->input(5), node->input(6), node->input(7), node->input(8)};
    const std::vector<torch::jit::NamedValue> kwargs = {
        torch::jit::NamedValue("dtype", c10::IValue(static_cast<int64_t>(at::kQInt8))),
        torch::jit::NamedValue("use_dynamic", c10::IValue(true))};
    // graph.insert packs the three outputs into a tuple: unpack it by hand.
    Value* packed = graph.insert(c10::Symbol::fromQualString("aten::quantized_lstm"), args, kwargs);
    Node* tuple = packed->node();
    if (tuple->kind() != c10::prim::TupleConstruct || tuple->inputs().size() != node->outputs().size()) {
      throw std::logic_error("aten::quantized_lstm: unexpected outputs");
    }
    Node* replacement = tuple->input(0)->node();
    tuple->destroy();
    for (size_t i = 0; i < node->outputs().size(); ++i) {
      node->output(i)->replaceAllUsesWith(replacement->output(i));
    }
    node->destroy();
    done.push_back(q);
    result.sites.push_back(name);
    ++result.changed;
  }
  return result;
}

}  // namespace llmc::passes
