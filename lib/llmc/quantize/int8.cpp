// The int8 schemes: layer selection, LibTorch's graph-mode quantization passes (observers,
// calibration, quant/dequant insertion, Finalize) and llmc's additions to them (LSTMs,
// embeddings, activation range, bf16 activation products).
#include "llmc/quantize/quantize.h"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>
#include <torch/csrc/jit/passes/constant_propagation.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/csrc/jit/passes/fold_conv_bn.h>
#include <torch/csrc/jit/passes/frozen_graph_optimizations.h>
#include <torch/csrc/jit/passes/quantization/finalize.h>
#include <torch/csrc/jit/passes/quantization/insert_observers.h>
#include <torch/csrc/jit/passes/quantization/insert_quant_dequant.h>

#include "llmc/metrics/agreement.h"
#include "llmc/model/forward.h"
#include "llmc/model/graph_nodes.h"
#include "llmc/model/layers.h"
#include "llmc/passes/activation_matmuls.h"
#include "llmc/passes/quantize_embeddings.h"
#include "llmc/passes/quantize_lstm.h"
#include "llmc/quantize/cpu_policy.h"
#include "llmc/quantize/observers.h"
#include "llmc/util/cpu_features.h"
#include "llmc/util/error.h"
#include "llmc/util/log.h"
#include "llmc/util/onednn.h"

namespace llmc::quantize {

std::vector<LayerPlan> plan_layers(const torch::jit::Module& model,
                                   const QuantizeOptions& options, bool lstm) {
  std::vector<LayerPlan> plan;
  for (const auto& sub : model::linear_layers(model)) {
    LayerPlan layer;
    layer.name = sub.name;
    const at::Tensor w = sub.module.attr("weight").toTensor();
    if (w.dim() == 2) {
      layer.out_features = w.size(0);
      layer.in_features = w.size(1);
    }
    layer.quantize = model::selected(sub.name, options.include, options.exclude);
    plan.push_back(layer);
  }
  for (const auto& sub : lstm ? model::lstm_layers(model) : std::vector<model::NamedLayer>{}) {
    LayerPlan layer;
    layer.name = sub.name;
    layer.lstm = true;
    if (sub.module.hasattr("input_size") && sub.module.hasattr("hidden_size")) {
      layer.in_features = sub.module.attr("input_size").toInt();
      layer.out_features = sub.module.attr("hidden_size").toInt();
    } else if (sub.module.hasattr("weight_hh_l0")) {
      const at::Tensor w_ih = sub.module.attr("weight_ih_l0").toTensor();
      layer.in_features = w_ih.size(1);
      layer.out_features = w_ih.size(0) / 4;
    }
    layer.quantize = model::selected(sub.name, options.include, options.exclude);
    plan.push_back(layer);
  }
  const bool any = std::any_of(plan.begin(), plan.end(), [](const auto& l) { return l.quantize; });
  if (!any) {
    std::string message =
        plan.empty() ? std::string(lstm ? "the model has no Linear or LSTM layers to quantize"
                                        : "the model has no Linear layers to quantize")
                     : fmt::format("include {} minus exclude {} selects none of the model's {} "
                                   "{} layers (e.g. {})",
                                   fmt::join(options.include, ", "),
                                   options.exclude.empty() ? "(nothing)"
                                                           : fmt::format("{}", fmt::join(options.exclude, ", ")),
                                   plan.size(),
                                   std::any_of(plan.begin(), plan.end(), [](const auto& l) { return l.lstm; })
                                       ? "Linear and LSTM"
                                       : "Linear",
                                   plan.front().name);
    throw RecipeError({{options.origin.location, options.origin.key, message}});
  }
  return plan;
}

namespace {

int count_kind(const torch::jit::Graph& graph, const std::string& kind) {
  int n = 0;
  for (const auto* node : model::graph_nodes(graph)) {
    if (node->kind().toQualString() == kind) ++n;
  }
  return n;
}

// Which modules get `qconfig`. With the default include ("*") the whole model does, as in
// PyTorch (so static quantization also covers the adds and layer norms between layers), minus
// excluded layers; with explicit include globs, exactly the selected layers.
torch::jit::QConfigDict qconfig_for(const std::vector<LayerPlan>& plan,
                                    const QuantizeOptions& options,
                                    const torch::jit::QConfig& qconfig) {
  torch::jit::QConfigDict dict;
  if (options.include == std::vector<std::string>{"*"}) {
    dict[""] = qconfig;
    for (const auto& layer : plan) {
      if (!layer.quantize && !layer.lstm) dict[layer.name] = c10::nullopt;
    }
  } else {
    dict[""] = c10::nullopt;
    for (const auto& layer : plan) {
      if (layer.quantize && !layer.lstm) dict[layer.name] = qconfig;
    }
  }
  return dict;
}

util::Json layer_table(const std::vector<LayerPlan>& plan, const std::string& how,
                       int64_t& selected) {
  util::Json layers = util::Json::array();
  selected = 0;
  for (const auto& layer : plan) {
    util::Json l = util::Json::object();
    l["layer"] = layer.name;
    l["shape"] = layer.lstm ? fmt::format("LSTM {}->{}", layer.in_features, layer.out_features)
                            : fmt::format("{}x{}", layer.out_features, layer.in_features);
    l["quantized"] = layer.quantize ? how : "kept fp32";
    layers.push_back(l);
    selected += layer.quantize ? 1 : 0;
  }
  return layers;
}

// With `embeddings: true`, the quantize_embeddings pass on the finalized module, and its table.
// A table tied to a quantized Linear shares its int8 weight; `model` (the original) names it.
void add_embeddings(torch::jit::Module& quantized, const torch::jit::Module& model,
                    const QuantizeOptions& options,
                    util::Json& details, std::vector<std::string>& warnings) {
  if (!options.embeddings) return;
  auto graph = quantized.get_method("forward").graph();
  const auto result = passes::quantize_embeddings(quantized, *graph, [&](const std::string& name) {
    return model::selected(name, options.include, options.exclude);
  });
  for (const auto& skip : result.left) {
    warnings.push_back(fmt::format("embedding {} stays float32: {}", skip.site, skip.reason));
  }
  if (result.done.empty() && result.left.empty()) {
    throw RecipeError({{options.origin.location, recipe::join_key(options.origin.key, "embeddings"),
                        "embeddings: true, but no embedding table of the model is selected by "
                        "include/exclude"}});
  }
  util::Json tables = util::Json::array();
  for (const auto& e : result.done) {
    util::Json t = util::Json::object();
    t["embedding"] = e.name;
    t["shape"] = fmt::format("{}x{}", e.rows, e.dim);
    t["bytes_before"] = e.bytes_before;
    t["bytes_after"] = e.bytes_after;
    if (!e.shares_packed_weight.empty()) {
      // The quantized layer whose weight is this table in the original model.
      std::string layer_name = e.shares_packed_weight;
      for (const auto& layer : model::linear_layers(model)) {
        if (model::tied_weight(model, layer) == e.name + ".weight") layer_name = layer.name;
      }
      t["tied_to"] = layer_name;
      t["storage"] = fmt::format("shares {}'s int8 weight (stored once)", layer_name);
    }
    tables.push_back(t);
  }
  details["embeddings"] = tables;
}

// dynamic-int8: sets the reduce_range argument of every quantized::linear_dynamic call (LibTorch's
// Finalize always writes true, fbgemm's 7-bit convention) and reports the choice
// (decide_activation_range). Returns whether activations use the full 8-bit range.
bool set_activation_range(torch::jit::Graph& graph, const QuantizeOptions& options,
                          util::Json& details, std::vector<std::string>& warnings) {
  const RangeDecision d =
      decide_activation_range(util::cpu_features(), util::onednn_effective_isa(), options);
  for (torch::jit::Node* node : graph.nodes()) {
    if (node->kind() != c10::Symbol::fromQualString("quantized::linear_dynamic") ||
        node->inputs().size() != 3) {
      continue;
    }
    torch::jit::WithInsertPoint before(node);
    node->replaceInput(2, graph.insertConstant(!d.full));
  }
  details["activation_range"] = d.full ? "full (8 bits)" : "reduced (7 bits)";
  if (!d.warning.empty()) warnings.push_back(d.warning);
  return d.full;
}

// The activation_matmuls_bf16 pass on the finalized graph when decide_activation_matmuls says
// so.
void add_activation_matmuls(torch::jit::Graph& graph, const QuantizeOptions& options,
                      util::Json& details, std::vector<std::string>& warnings) {
  const bool automatic = options.activation_matmuls == MatmulPrecision::automatic;
  const MatmulDecision d =
      decide_activation_matmuls(util::cpu_features(), util::onednn_effective_isa(), options);
  if (!d.error.empty()) {
    throw RecipeError({{options.origin.location,
                        recipe::join_key(options.origin.key, "activation_matmuls"), d.error}});
  }
  if (automatic) log::info("activation_matmuls: {}", d.reason);
  const auto r = d.bf16 ? passes::activation_matmuls_bf16(graph) : passes::PassResult{};
  if (d.bf16 && r.changed == 0 && !automatic) {
    throw RecipeError({{options.origin.location,
                        recipe::join_key(options.origin.key, "activation_matmuls"),
                        "activation_matmuls: bf16, but forward has no matmul of two activations "
                        "(only products with a weight, which the int8 scheme handles)"}});
  }
  details["activation_matmuls"] = r.changed > 0 ? "bf16" : "fp32";
  if (r.changed == 0) return;
  details["activation_matmuls_bf16"] = r.changed;
  if (automatic) log::info("activation_matmuls: {} activation products in bf16", r.changed);
  if (!d.warning.empty()) warnings.push_back(d.warning);
}

// Runs one of LibTorch's quantization passes; its failures become input errors.
template <class Fn>
torch::jit::Module run_pass(Fn&& pass) {
  try {
    return pass();
  } catch (const c10::Error& e) {
    std::string what = e.what_without_backtrace();
    throw InputError("", "LibTorch's quantization passes failed: " + what.substr(0, what.find('\n')));
  }
}

// Quant/dequant insertion and Finalize (packs the weights, fuses quantize/dequantize into
// quantized ops and freezes), then the frozen-graph clean-ups Finalize leaves out (eval-mode
// dropout removed, constants folded), as eval-freeze does.
torch::jit::Module convert_and_finalize(torch::jit::Module& prepared, torch::jit::QuantType type) {
  torch::jit::Module quantized = run_pass([&] {
    torch::jit::Module converted = torch::jit::InsertQuantDeQuant(
        prepared, "forward", /*inplace=*/true, /*debug=*/false, type);
    return torch::jit::Finalize(converted, type, {});
  });
  auto graph = quantized.get_method("forward").graph();
  torch::jit::OptimizeFrozenGraph(graph, /*optimize_numerics=*/true);
  torch::jit::ConstantPropagation(graph);
  torch::jit::EliminateDeadCode(graph);
  return quantized;
}

bool all_finite(const at::Tensor& t) { return !t.is_floating_point() || at::isfinite(t).all().item<bool>(); }

}  // namespace

QuantizeOutcome quantize_static(const torch::jit::Module& model, const QuantizeOptions& options,
                                const std::vector<data::Batch>& calibration) {
  const auto plan = plan_layers(model, options);
  // Fresh types and methods sharing `model`'s tensors: no pass below writes into a weight
  // (folding and packing make new tensors), so no float copy of a large model is made.
  torch::jit::Module m = model.clone(/*inplace=*/true);
  m.eval();
  m = torch::jit::FoldConvBatchNorm(m);
  const torch::jit::QConfigDict qconfig = qconfig_for(
      plan, options,
      {options.observer == Observer::percentile
           ? activation_percentile_observer(options.percentile)
           : activation_minmax_observer(),
       options.per_channel ? weight_per_channel_observer() : weight_observer()});
  torch::jit::Module prepared = run_pass([&] {
    return torch::jit::InsertObservers(m, "forward", qconfig, /*inplace=*/true,
                                       torch::jit::QuantType::STATIC);
  });
  // Calibration: every observer sees the activations of these batches.
  const size_t batches = std::min(calibration.size(), static_cast<size_t>(options.calibration_batches));
  int64_t rows = 0;
  for (size_t i = 0; i < batches; ++i) {
    const c10::IValue out = model::run_forward(prepared, calibration[i], "calibration");
    for (const auto& t : metrics::output_tensors(out)) {
      if (!all_finite(t)) {
        throw InputError("", fmt::format("calibration batch {} produced NaN or Inf in the model's "
                                         "outputs; static-int8 cannot calibrate on it",
                                         i));
      }
    }
    rows += calibration[i].rows;
  }
  for (const auto& sub : prepared.named_modules()) {
    for (const auto& attr : sub.value.named_attributes(false)) {
      if (attr.name.rfind("_observer_", 0) != 0 || !attr.value.isModule()) continue;
      const auto observer = attr.value.toModule();
      if (!observer.hasattr("min_val")) continue;
      const at::Tensor lo = observer.attr("min_val").toTensor();
      const at::Tensor hi = observer.attr("max_val").toTensor();
      if (!all_finite(lo) || !all_finite(hi)) {
        throw InputError("", fmt::format("calibration saw NaN or Inf (or no values) in the "
                                         "activations observed by {}.{}",
                                         sub.name.empty() ? "forward" : sub.name, attr.name));
      }
    }
  }
  torch::jit::Module quantized = convert_and_finalize(prepared, torch::jit::QuantType::STATIC);
  auto graph = quantized.get_method("forward").graph();

  QuantizeOutcome out;
  out.quantized = quantized;
  int64_t selected = 0;
  out.details["scheme"] = "static-int8";
  out.details["engine"] = engine_name(options.engine);
  out.details["calibration_batches"] = static_cast<int64_t>(batches);
  out.details["calibration_rows"] = rows;
  out.details["observer"] = options.observer == Observer::percentile
                                ? fmt::format("percentile {}", options.percentile)
                                : std::string("minmax");
  out.details["per_channel"] = options.per_channel;
  out.details["layers"] = layer_table(plan, "int8 weight, int8 activations (calibrated)", selected);
  out.details["layers_selected"] = selected;
  out.details["layers_total"] = static_cast<int64_t>(plan.size());
  util::Json ops = util::Json::object();
  std::map<std::string, int64_t> counts;
  for (const auto* node : graph->nodes()) {
    const std::string kind = node->kind().toQualString();
    if (kind.rfind("quantized::", 0) == 0) ++counts[kind];
  }
  for (const auto& [kind, n] : counts) ops[kind] = n;
  out.details["quantized_ops"] = ops;
  add_embeddings(quantized, model, options, out.details, out.warnings);
  add_activation_matmuls(*graph, options, out.details, out.warnings);
  if (counts.empty()) {
    throw InputError("", "no layer was quantized: the selected layers are not called through "
                         "operators LibTorch's static quantization handles");
  }
  return out;
}

namespace {

// A float weight quantized to qint8 by llmc's weight observer (the one graph-mode quantization
// uses for the Linear weights): symmetric, per tensor or per output channel.
at::Tensor observed_qint8(const at::Tensor& w, bool per_channel) {
  torch::jit::Module observer = per_channel ? weight_per_channel_observer() : weight_observer();
  observer.forward({w});
  const auto qparams = observer.run_method("calculate_qparams").toTuple();
  const at::Tensor scale = qparams->elements().at(0).toTensor();
  const at::Tensor zero_point = qparams->elements().at(1).toTensor();
  if (per_channel) {
    return at::quantize_per_channel(w, scale.to(at::kDouble), zero_point.to(at::kLong), 0, at::kQInt8);
  }
  return at::quantize_per_tensor(w, scale.item<double>(), zero_point.item<int64_t>(), at::kQInt8);
}

// The quantize_lstm pass for the selected LSTMs of the plan; fills their rows of `layers` and
// returns the bytes it quantized and replaced.
std::pair<int64_t, int64_t> add_lstms(torch::jit::Graph& graph, const torch::jit::Module& model,
                                      const std::vector<LayerPlan>& plan,
                                      const QuantizeOptions& options, bool reduce_range,
                                      util::Json& layers, util::Json& details,
                                      std::vector<std::string>& warnings, int& converted) {
  std::set<std::string> selected;
  for (const auto& layer : plan) {
    if (layer.lstm && layer.quantize) selected.insert(layer.name);
  }
  converted = 0;
  if (selected.empty()) return {0, 0};
  passes::QuantizeLstmOptions o;
  o.select = [&](const std::string& name) { return selected.count(name) > 0; };
  o.quantize_weight = [&](const at::Tensor& w) { return observed_qint8(w, options.per_channel); };
  o.reduce_range = reduce_range;
  std::vector<std::pair<std::string, at::Tensor>> first_weights;
  for (const auto& sub : model::lstm_layers(model)) {
    if (sub.module.hasattr("weight_ih_l0")) {
      first_weights.emplace_back(sub.name, sub.module.attr("weight_ih_l0").toTensor());
    }
  }
  o.name_by_weight = [&](const at::Tensor& w) {
    for (const auto& [name, t] : first_weights) {
      if (t.sizes() == w.sizes() && t.scalar_type() == w.scalar_type() && at::equal(t, w)) return name;
    }
    return std::string();
  };
  const passes::QuantizeLstmResult result = passes::quantize_lstm(graph, o);
  const auto& done = result.done;
  const auto& skipped = result.left;
  int64_t after = 0, before = 0;
  util::Json table = util::Json::array();
  for (const auto& l : done) {
    util::Json t = util::Json::object();
    t["lstm"] = l.name;
    t["input_size"] = l.input_size;
    t["hidden_size"] = l.hidden_size;
    t["layers"] = l.layers;
    t["bidirectional"] = l.bidirectional;
    t["bytes_before"] = l.bytes_before;
    t["bytes_after"] = l.bytes_after;
    table.push_back(t);
    before += l.bytes_before;
    after += l.bytes_after;
    selected.erase(l.name);
  }
  details["lstms"] = table;
  converted = static_cast<int>(done.size());
  for (const auto& skip : skipped) {
    warnings.push_back(fmt::format("LSTM {} stays float32: {}", skip.site, skip.reason));
  }
  // Rows of selected LSTMs the pass did not convert say so.
  for (auto& row : layers.as_array()) {
    if (selected.count(row.at("layer").as_string())) row["quantized"] = "kept fp32 (see warnings)";
  }
  for (const auto& name : selected) {
    const bool explained = std::any_of(skipped.begin(), skipped.end(), [&](const auto& s) { return s.site == name; });
    if (!explained) {
      warnings.push_back(fmt::format("LSTM {} stays float32: forward calls it in a way the "
                                     "quantize_lstm pass does not recognise (no aten::lstm on its "
                                     "constant weights)",
                                     name));
    }
  }
  return {after, before};
}

}  // namespace

QuantizeOutcome quantize_dynamic(const torch::jit::Module& model, const QuantizeOptions& options) {
  const auto plan = plan_layers(model, options, /*lstm=*/true);
  // Fresh types and methods sharing `model`'s tensors (packing makes new ones): no float copy.
  torch::jit::Module m = model.clone(/*inplace=*/true);
  m.eval();
  const torch::jit::QConfigDict qconfig = qconfig_for(
      plan, options,
      {dynamic_activation_observer(),
       options.per_channel ? weight_per_channel_observer() : weight_observer()});
  torch::jit::Module prepared = run_pass([&] {
    return torch::jit::InsertObservers(m, "forward", qconfig, /*inplace=*/true,
                                       torch::jit::QuantType::DYNAMIC);
  });
  torch::jit::Module quantized = convert_and_finalize(prepared, torch::jit::QuantType::DYNAMIC);
  auto graph = quantized.get_method("forward").graph();

  QuantizeOutcome out;
  const bool full_range = set_activation_range(*graph, options, out.details, out.warnings);
  out.quantized = quantized;
  int64_t selected = 0;
  util::Json layers = layer_table(plan, "int8 weight, dynamic uint8 activations", selected);
  int64_t int8_bytes = 0;
  for (const auto& layer : plan) {
    if (layer.quantize && !layer.lstm) int8_bytes += layer.out_features * layer.in_features;
  }
  int64_t fp32_bytes = 4 * int8_bytes;
  int lstms = 0;
  const auto [lstm_after, lstm_before] =
      add_lstms(*graph, model, plan, options, !full_range, layers, out.details, out.warnings, lstms);
  int8_bytes += lstm_after;
  fp32_bytes += lstm_before;
  torch::jit::EliminateDeadCode(graph);
  const int kernels = count_kind(*graph, "quantized::linear_dynamic");
  out.details["scheme"] = "dynamic-int8";
  out.details["per_channel"] = options.per_channel;
  out.details["engine"] = engine_name(options.engine);
  out.details["layers_selected"] = selected;
  out.details["layers_total"] = static_cast<int64_t>(plan.size());
  out.details["quantized_linear_ops"] = kernels;
  out.details["quantized_lstms"] = lstms;
  out.details["quantized_weight_bytes"] = int8_bytes;
  out.details["replaced_fp32_weight_bytes"] = fp32_bytes;
  out.details["layers"] = layers;
  add_embeddings(quantized, model, options, out.details, out.warnings);
  add_activation_matmuls(*graph, options, out.details, out.warnings);
  if (kernels == 0 && lstms == 0) {
    throw InputError("", "no layer was quantized: the selected Linear layers are not called "
                         "through aten::linear in forward (and no selected LSTM through "
                         "aten::lstm)");
  }
  return out;
}

}  // namespace llmc::quantize
