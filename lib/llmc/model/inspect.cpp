#include "llmc/model/inspect.h"

#include <filesystem>
#include <set>

#include <fmt/format.h>
#include <torch/csrc/jit/passes/inliner.h>

#include "llmc/model/graph_nodes.h"
#include "llmc/model/inline_calls.h"
#include "llmc/util/units.h"

namespace llmc::model {

namespace {

TensorInfo tensor_info(const std::string& name, const at::Tensor& t) {
  TensorInfo info;
  info.name = name;
  info.shape = t.sizes().vec();
  info.dtype = std::string(c10::toString(t.scalar_type()));
  info.numel = t.numel();
  info.bytes = static_cast<int64_t>(t.numel() * t.element_size());
  return info;
}

void add_tensor(WeightStats& stats, const at::Tensor& t) {
  const auto bytes = static_cast<int64_t>(t.numel() * t.element_size());
  stats.count += t.numel();
  stats.bytes += bytes;
  if (t.scalar_type() == at::kFloat) stats.float32_bytes += bytes;
  if (t.scalar_type() == at::kBFloat16 || t.scalar_type() == at::kHalf) stats.half_bytes += bytes;
}

// Tensors held as graph constants (what torch::jit::freeze makes of parameters).
void collect_constants(const torch::jit::Graph& graph, std::set<const c10::TensorImpl*>& seen,
                       WeightStats& stats) {
  for (const torch::jit::Node* node : graph_nodes(graph)) {
    if (node->kind() == c10::prim::Constant && node->output()->type()->cast<c10::TensorType>()) {
      const auto value = torch::jit::toIValue(node->output());
      if (value && value->isTensor()) {
        const at::Tensor& t = value->toTensor();
        if (seen.insert(t.unsafeGetTensorImpl()).second) {
          add_tensor(stats, t);
        }
      }
    }
  }
}

}  // namespace

WeightStats weight_stats(const torch::jit::Module& module) {
  WeightStats stats;
  std::set<const c10::TensorImpl*> seen;
  auto add = [&](const at::Tensor& t) {
    if (t.defined() && seen.insert(t.unsafeGetTensorImpl()).second) add_tensor(stats, t);
  };
  for (const auto& p : module.named_parameters(true)) add(p.value);
  for (const auto& b : module.named_buffers(true)) add(b.value);
  for (const auto& method : module.get_methods()) {
    collect_constants(*method.graph(), seen, stats);
  }
  return stats;
}

std::vector<std::string> forward_argument_names(const torch::jit::Module& module) {
  std::vector<std::string> names;
  const auto method = module.find_method("forward");
  if (!method) return names;
  const auto& args = method->function().getSchema().arguments();
  for (size_t i = 1; i < args.size(); ++i) names.push_back(args[i].name());
  return names;
}

ModelInfo inspect(const torch::jit::Module& module, const std::string& path) {
  ModelInfo info;
  info.path = path;
  std::error_code ec;
  info.file_bytes = static_cast<int64_t>(std::filesystem::file_size(path, ec));
  info.training = module.is_training();
  std::set<const c10::TensorImpl*> seen;
  for (const auto& p : module.named_parameters(true)) {
    info.parameters.push_back(tensor_info(p.name, p.value));
    if (seen.insert(p.value.unsafeGetTensorImpl()).second) {
      info.parameter_count += p.value.numel();
      info.parameter_bytes += info.parameters.back().bytes;
    }
  }
  for (const auto& b : module.named_buffers(true)) {
    info.buffers.push_back(tensor_info(b.name, b.value));
    info.buffer_bytes += info.buffers.back().bytes;
  }
  for (const auto& method : module.get_methods()) {
    std::ostringstream schema;
    schema << method.function().getSchema();
    info.methods.push_back(schema.str());
  }
  if (const auto forward = module.find_method("forward")) {
    auto graph = forward->graph()->copy();
    llmc::model::inline_calls(*graph);
    for (const torch::jit::Node* node : graph_nodes(*graph)) {
      if (node->kind() != c10::prim::Constant) ++info.forward_ops[node->kind().toQualString()];
    }
  }
  return info;
}

util::Json to_json(const ModelInfo& info) {
  using util::Json;
  auto tensors = [](const std::vector<TensorInfo>& list) {
    Json out = Json::array();
    for (const auto& t : list) {
      Json j = Json::object();
      j["name"] = t.name;
      Json shape = Json::array();
      for (int64_t d : t.shape) shape.push_back(d);
      j["shape"] = shape;
      j["dtype"] = t.dtype;
      j["numel"] = t.numel;
      j["bytes"] = t.bytes;
      out.push_back(j);
    }
    return out;
  };
  Json j = Json::object();
  j["path"] = info.path;
  j["file_bytes"] = info.file_bytes;
  j["training"] = info.training;
  j["parameter_count"] = info.parameter_count;
  j["parameter_bytes"] = info.parameter_bytes;
  j["buffer_bytes"] = info.buffer_bytes;
  j["parameters"] = tensors(info.parameters);
  j["buffers"] = tensors(info.buffers);
  Json methods = Json::array();
  for (const auto& m : info.methods) methods.push_back(m);
  j["methods"] = methods;
  Json ops = Json::object();
  for (const auto& [op, n] : info.forward_ops) ops[op] = n;
  j["forward_ops"] = ops;
  return j;
}

std::string to_text(const ModelInfo& info) {
  std::string out;
  out += fmt::format("model: {} ({}, {} mode)\n", info.path, util::human_bytes(info.file_bytes),
                     info.training ? "training" : "eval");
  out += fmt::format("parameters: {} in {} tensors, {}\n", info.parameter_count,
                     info.parameters.size(), util::human_bytes(info.parameter_bytes));
  out += fmt::format("buffers: {} tensors, {}\n", info.buffers.size(),
                     util::human_bytes(info.buffer_bytes));
  auto table = [&](const char* title, const std::vector<TensorInfo>& list) {
    if (list.empty()) return;
    size_t width = 4;
    for (const auto& t : list) width = std::max(width, t.name.size());
    out += fmt::format("\n{}:\n", title);
    for (const auto& t : list) {
      out += fmt::format("  {:<{}}  {:<9}  {:>18}  {:>10}  {}\n", t.name, width, t.dtype,
                         fmt::format("[{}]", fmt::join(t.shape, ", ")), t.numel,
                         util::human_bytes(t.bytes));
    }
  };
  table("parameters", info.parameters);
  table("buffers", info.buffers);
  out += "\nmethods:\n";
  for (const auto& m : info.methods) out += "  " + m + "\n";
  if (!info.forward_ops.empty()) {
    std::vector<std::pair<std::string, int64_t>> ops(info.forward_ops.begin(),
                                                     info.forward_ops.end());
    std::stable_sort(ops.begin(), ops.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    out += "\nforward ops (submodule calls inlined):\n";
    for (const auto& [op, n] : ops) out += fmt::format("  {:>6}  {}\n", n, op);
  }
  return out;
}

std::optional<int64_t> input_vocab_size(const torch::jit::Module& module) {
  static const char* const kNames[] = {"word_embeddings.weight", "embed_tokens.weight",
                                       "wte.weight", "tok_embeddings.weight",
                                       "embedding.weight", "embeddings.weight"};
  for (const char* wanted : kNames) {
    for (const auto& p : module.named_parameters(true)) {
      const std::string& name = p.name;
      const std::string w = wanted;
      const bool match = name == w || (name.size() > w.size() &&
                                       name.compare(name.size() - w.size(), w.size(), w) == 0 &&
                                       name[name.size() - w.size() - 1] == '.');
      if (match && p.value.dim() == 2) return p.value.size(0);
    }
  }
  return std::nullopt;
}

}  // namespace llmc::model
