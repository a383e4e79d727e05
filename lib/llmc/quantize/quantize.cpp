#include "llmc/quantize/quantize.h"

#include <optional>
#include <set>

#include <fmt/format.h>
#include <torch/csrc/jit/passes/constant_propagation.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/csrc/jit/passes/fold_conv_bn.h>
#include <torch/csrc/jit/passes/freeze_module.h>
#include <torch/csrc/jit/passes/frozen_graph_optimizations.h>
#include <torch/csrc/jit/passes/quantization/finalize.h>
#include <torch/csrc/jit/passes/quantization/insert_observers.h>
#include <torch/csrc/jit/passes/quantization/insert_quant_dequant.h>

#include "llmc/model/layers.h"
#include "llmc/passes/quantize_embeddings.h"
#include "llmc/compare/agreement.h"
#include "llmc/passes/bf16_matmul.h"
#include "llmc/passes/fp32_layer_norm.h"
#include "llmc/passes/fp32_rms_norm.h"
#include "llmc/passes/lowp_compute_inputs.h"
#include "llmc/passes/lowp_range_constants.h"
#include "llmc/passes/quantize_lstm.h"
#include "llmc/passes/cast_boundary.h"
#include "llmc/passes/fuse_tanh_gelu.h"
#include "llmc/passes/optimize_attention.h"
#include "llmc/passes/fp16_storage.h"
#include "llmc/quantize/coverage.h"
#include "llmc/quantize/cpu_policy.h"
#include "llmc/quantize/observers.h"
#include "llmc/util/cpu_features.h"
#include "llmc/util/log.h"
#include "llmc/util/progress.h"
#include "llmc/util/machine.h"
#include "llmc/util/onednn.h"
#include "llmc/recipe/parse.h"
#include "llmc/util/error.h"

namespace llmc::quantize {

std::string engine_name(Engine engine) {
  switch (engine) {
    case Engine::onednn: return "onednn";
    case Engine::qnnpack: return "qnnpack";
    case Engine::fbgemm: return "fbgemm";
    case Engine::x86: return "x86";
  }
  return "?";
}

static at::QEngine to_qengine(Engine engine) {
  switch (engine) {
    case Engine::onednn: return at::QEngine::ONEDNN;
    case Engine::qnnpack: return at::QEngine::QNNPACK;
    case Engine::fbgemm: return at::QEngine::FBGEMM;
    case Engine::x86: return at::QEngine::X86;
  }
  return at::QEngine::NoQEngine;
}

std::vector<std::string> supported_engines();

recipe::Section<QuantizeRecipe> quantize_schema() {
  recipe::Section<QuantizeOptions> s;
  s.choice("scheme", &QuantizeOptions::scheme,
           {{"dynamic-int8", Scheme::dynamic_int8},
            {"static-int8", Scheme::static_int8},
            {"bf16", Scheme::bf16},
            {"fp16", Scheme::fp16}},
           "dynamic-int8: Linear weights stored int8, activations quantized at run time; "
           "static-int8: weights and activations int8 with scales calibrated on the recipe's "
           "data (conv + batch-norm folded first); bf16: "
           "every floating-point weight stored and computed in bfloat16 (inputs and outputs "
           "stay float32); fp16: weights stored as float16, computed in float32 (LibTorch 1.13 "
           "has no CPU float16 kernels)");
  s.choice("engine", &QuantizeOptions::engine,
           {{"onednn", Engine::onednn},
            {"qnnpack", Engine::qnnpack},
            {"fbgemm", Engine::fbgemm},
            {"x86", Engine::x86}},
           "quantized kernel library; the artifact's int8 weights are repacked for the engine "
           "of the process that loads it (Debian's LibTorch has onednn and qnnpack, not fbgemm)");
  s.texts("include", &QuantizeOptions::include,
          "globs over module names (e.g. \"bert.encoder.*\") selecting the Linear layers (and, "
          "with dynamic-int8, the LSTMs) to quantize");
  s.texts("exclude", &QuantizeOptions::exclude,
          "globs over module names of Linear layers (and LSTMs) to keep in fp32 (e.g. "
          "classifier)");
  s.integer("calibration_batches", &QuantizeOptions::calibration_batches, 1, 100000,
            "static-int8: batches run through the observers (from calibration_data, else "
            "from the recipe's data)");
  s.optional_section("calibration_data", &QuantizeOptions::calibration_data, recipe::data_schema(),
                     "static-int8: JSONL calibration data (e.g. training samples), so that the "
                     "batches the observers see are not the ones the report evaluates on; "
                     "default: the first calibration_batches batches of `data`");
  s.choice("observer", &QuantizeOptions::observer,
           {{"minmax", Observer::minmax}, {"percentile", Observer::percentile}},
           "static-int8 activation ranges: minmax (running min/max) or percentile (lowest and "
           "highest per-batch percentile, robust to outliers)");
  s.number("percentile", &QuantizeOptions::percentile, 50, 100,
           "observer: percentile: the upper percentile kept (e.g. 99.99); the lower one is "
           "100 minus it",
           true, false);
  s.flag("per_channel", &QuantizeOptions::per_channel,
         "int8 weights with one scale per output channel instead of one per tensor");
  s.flag("embeddings", &QuantizeOptions::embeddings,
         "also store the embedding tables selected by include/exclude as 8-bit rows with a "
         "per-row scale and bias (the largest part of small language models)");
  s.choice("activation_matmuls", &QuantizeOptions::activation_matmuls,
           {{"auto", MatmulPrecision::automatic},
            {"fp32", MatmulPrecision::fp32},
            {"bf16", MatmulPrecision::bf16}},
           "int8 schemes: precision of the products of two activations (in a transformer, the "
           "attention products Q·Kᵀ and P·V, which int8 Linear quantization leaves in float32); "
           "bf16 runs them through oneDNN's bfloat16 GEMM (fast on CPUs with AVX512-BF16) with "
           "scaling, mask and softmax kept float32, which changes the numbers (see the report's "
           "agreement); auto: bf16 on a CPU with AVX512-BF16 when forward has such products, "
           "except on a CPU with AMX whose oneDNN is capped below it (onednn_isa), where they "
           "measured slower; else fp32");
  s.choice("activation_range", &QuantizeOptions::activation_range,
           {{"auto", ActivationRange::automatic},
            {"full", ActivationRange::full},
            {"reduced", ActivationRange::reduced}},
           "dynamic-int8: range of the run-time activation quantization; full: 8 bits (0..255); "
           "reduced: 7 bits, for int8 kernels whose 16-bit intermediate sums can saturate on "
           "CPUs without VNNI; auto: full with engine onednn on a CPU with VNNI (AVX512-VNNI or "
           "AVX-VNNI), else reduced. An artifact made with full range may saturate on a CPU "
           "without VNNI");
  s.choice("onednn_isa", &QuantizeOptions::onednn_isa,
           {{"auto", IsaCap::automatic},
            {"all", IsaCap::all},
            {"avx512_core_amx", IsaCap::avx512_core_amx},
            {"avx512_core_bf16", IsaCap::avx512_core_bf16},
            {"avx512_core_vnni", IsaCap::avx512_core_vnni},
            {"avx512_core", IsaCap::avx512_core},
            {"avx2", IsaCap::avx2}},
           "newest instruction set oneDNN (the onednn engine's int8 kernels and the bf16 GEMMs) "
           "may use while llmc quantizes and measures; all: no cap; auto: "
           "avx512_core_bf16 for dynamic-int8 with engine onednn on a CPU with AMX (the AMX "
           "path of LibTorch 1.13's dynamic int8 GEMM is slower than AVX512-VNNI), unless "
           "ONEDNN_MAX_CPU_ISA is set, else no cap. A process only; the artifact does not "
           "change: serve it with the ONEDNN_MAX_CPU_ISA the report's details.deploy_env names");
  s.flag("optimize_attention", &QuantizeOptions::optimize_attention, passes::kOptimizeAttentionHelp);
  s.flag("fuse_gelu", &QuantizeOptions::fuse_gelu, passes::kFuseGeluHelp);
  s.origin(&QuantizeOptions::origin);
  s.check([](const QuantizeOptions& o, const recipe::Origin& where, recipe::Context& ctx) {
    const bool globs_set = o.include != std::vector<std::string>{"*"} || !o.exclude.empty();
    if ((o.scheme == Scheme::bf16 || o.scheme == Scheme::fp16) && (globs_set || o.embeddings)) {
      ctx.add({where.location, where.key,
               "bf16 and fp16 cast the whole model; include, exclude and embeddings apply to "
               "the int8 schemes"});
    }
    if (o.scheme != Scheme::static_int8 && o.calibration_data) {
      ctx.add({where.location, recipe::join_key(where.key, "calibration_data"),
               "calibration_data applies to static-int8 (the other schemes do not calibrate)"});
    }
    if (o.scheme != Scheme::dynamic_int8 && o.activation_range != ActivationRange::automatic) {
      ctx.add({where.location, recipe::join_key(where.key, "activation_range"),
               "activation_range applies to dynamic-int8 (static-int8 calibrates its ranges)"});
    }
    if ((o.scheme == Scheme::bf16 || o.scheme == Scheme::fp16) &&
        o.activation_matmuls != MatmulPrecision::automatic) {
      ctx.add({where.location, recipe::join_key(where.key, "activation_matmuls"),
               "activation_matmuls applies to the int8 schemes (bf16 and fp16 set the precision "
               "of the whole model)"});
    }
  });
  // Checked with the rest of the recipe, before any model is loaded: bf16 compute that
  // oneDNN, capped as this run will cap it, cannot run on this CPU.
  s.check([](const QuantizeOptions& o, const recipe::Origin& where, recipe::Context& ctx) {
    const util::CpuFeatures& cpu = util::cpu_features();
    const std::string environment = util::onednn_isa_from_environment();
    std::optional<util::OnednnIsa> cap = decide_onednn_isa(cpu, o, environment).cap;
    if (!cap && !environment.empty()) cap = util::parse_onednn_isa(environment);
    const util::OnednnIsa effective = onednn_isa_under(cpu, cap);
    if (o.scheme == Scheme::dynamic_int8 || o.scheme == Scheme::static_int8) {
      const MatmulDecision d = decide_activation_matmuls(cpu, effective, o);
      if (!d.error.empty()) {
        ctx.add({where.location, recipe::join_key(where.key, "activation_matmuls"), d.error});
      }
    } else if (o.scheme == Scheme::bf16) {
      if (const std::string b = bf16_compute_blocker(cpu, effective); !b.empty()) {
        ctx.add({where.location,
                 recipe::join_key(where.key, o.onednn_isa == IsaCap::automatic ? "scheme"
                                                                               : "onednn_isa"),
                 "scheme bf16 cannot run here: " + b +
                     (o.onednn_isa == IsaCap::automatic ? " (from ONEDNN_MAX_CPU_ISA)" : "")});
      }
    }
  });
  s.check([](const QuantizeOptions& o, const recipe::Origin& where, recipe::Context& ctx) {
    const auto supported = at::globalContext().supportedQEngines();
    if (std::find(supported.begin(), supported.end(), to_qengine(o.engine)) == supported.end()) {
      ctx.add({where.location, recipe::join_key(where.key, "engine"),
               fmt::format("engine {} is not available in this LibTorch build (available: {})",
                           engine_name(o.engine), fmt::join(supported_engines(), ", "))});
    }
  });
  recipe::Section<QuantizeRecipe> root;
  root.inline_section(&QuantizeRecipe::common, recipe::common_schema());
  root.section("quantize", &QuantizeRecipe::quantize, s, "quantize options");
  root.check([](const QuantizeRecipe& r, const recipe::Origin&, recipe::Context& ctx) {
    if (r.quantize.scheme == Scheme::static_int8 && !r.common.data && !r.quantize.calibration_data) {
      ctx.add({r.quantize.origin.location, recipe::join_key(r.quantize.origin.key, "scheme"),
               "static-int8 calibrates activation ranges on real inputs: give `data:` or "
               "`quantize.calibration_data:` (a JSONL file the model's forward reads)"});
    }
  });
  recipe::hint_other_sections(root, "quantize");
  return root;
}

QuantizeRecipe parse_quantize_recipe(const std::string& path,
                                     const std::vector<std::string>& sets) {
  return recipe::parse_recipe(path, sets, quantize_schema());
}

std::vector<std::string> supported_engines() {
  std::vector<std::string> out;
  for (const auto e : at::globalContext().supportedQEngines()) {
    if (e == at::QEngine::ONEDNN) out.push_back("onednn");
    if (e == at::QEngine::QNNPACK) out.push_back("qnnpack");
    if (e == at::QEngine::FBGEMM) out.push_back("fbgemm");
    if (e == at::QEngine::X86) out.push_back("x86");
  }
  return out;
}

void use_engine(Engine engine, const recipe::Origin& where) {
  const auto supported = at::globalContext().supportedQEngines();
  if (std::find(supported.begin(), supported.end(), to_qengine(engine)) == supported.end()) {
    throw RecipeError({{where.location, recipe::join_key(where.key, "engine"),
                        fmt::format("engine {} is not available in this LibTorch build "
                                    "(available: {})",
                                    engine_name(engine), fmt::join(supported_engines(), ", "))}});
  }
  at::globalContext().setQEngine(to_qengine(engine));
}

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

int count_kind(const torch::jit::Block* block, const std::string& kind) {
  int n = 0;
  for (const auto* node : block->nodes()) {
    if (node->kind().toQualString() == kind) ++n;
    for (const auto* sub : node->blocks()) n += count_kind(sub, kind);
  }
  return n;
}

}  // namespace

namespace {

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
  for (const auto& skip : result.skipped) {
    warnings.push_back(fmt::format("embedding {} stays float32: {}", skip.name, skip.reason));
  }
  if (result.done.empty() && result.skipped.empty()) {
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

// The bf16_activation_matmuls pass on the finalized graph when decide_activation_matmuls says
// so.
void add_bf16_matmuls(torch::jit::Graph& graph, const QuantizeOptions& options,
                      util::Json& details, std::vector<std::string>& warnings) {
  const bool automatic = options.activation_matmuls == MatmulPrecision::automatic;
  const MatmulDecision d =
      decide_activation_matmuls(util::cpu_features(), util::onednn_effective_isa(), options);
  if (!d.error.empty()) {
    throw RecipeError({{options.origin.location,
                        recipe::join_key(options.origin.key, "activation_matmuls"), d.error}});
  }
  if (automatic) log::info("activation_matmuls: {}", d.reason);
  const auto r = d.bf16 ? passes::bf16_activation_matmuls(graph) : passes::Bf16MatmulResult{};
  if (d.bf16 && r.converted == 0 && !automatic) {
    throw RecipeError({{options.origin.location,
                        recipe::join_key(options.origin.key, "activation_matmuls"),
                        "activation_matmuls: bf16, but forward has no matmul of two activations "
                        "(only products with a weight, which the int8 scheme handles)"}});
  }
  details["activation_matmuls"] = r.converted > 0 ? "bf16" : "fp32";
  if (r.converted == 0) return;
  details["bf16_matmuls"] = r.converted;
  if (automatic) log::info("activation_matmuls: {} activation products in bf16", r.converted);
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
  log::Progress progress("calibrating", static_cast<int64_t>(batches), log::ProgressUnit::count,
                         "batches");
  progress.update(0);
  for (size_t i = 0; i < batches; ++i) {
    const c10::IValue out = job::run_forward(prepared, calibration[i], "calibration");
    for (const auto& t : compare::output_tensors(out)) {
      if (!all_finite(t)) {
        throw InputError("", fmt::format("calibration batch {} produced NaN or Inf in the model's "
                                         "outputs; static-int8 cannot calibrate on it",
                                         i));
      }
    }
    rows += calibration[i].rows;
    progress.update(static_cast<int64_t>(i + 1));
  }
  progress.done();
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
  add_bf16_matmuls(*graph, options, out.details, out.warnings);
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
  std::vector<passes::LstmSkip> skipped;
  const auto done = passes::quantize_lstm(graph, o, skipped);
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
    warnings.push_back(fmt::format("LSTM {} stays float32: {}", skip.name, skip.reason));
  }
  // Rows of selected LSTMs the pass did not convert say so.
  for (auto& row : layers.as_array()) {
    if (selected.count(row.at("layer").as_string())) row["quantized"] = "kept fp32 (see warnings)";
  }
  for (const auto& name : selected) {
    const bool explained = std::any_of(skipped.begin(), skipped.end(), [&](const auto& s) { return s.name == name; });
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
  const int kernels = count_kind(graph->block(), "quantized::linear_dynamic");
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
  add_bf16_matmuls(*graph, options, out.details, out.warnings);
  if (kernels == 0 && lstms == 0) {
    throw InputError("", "no layer was quantized: the selected Linear layers are not called "
                         "through aten::linear in forward (and no selected LSTM through "
                         "aten::lstm)");
  }
  return out;
}

QuantizeOutcome cast_bf16(torch::jit::Module model, const std::vector<bool>& float_inputs) {
  // Fresh types and methods; the tensors are `model`'s own, cast in place (set_data), so every
  // alias sees bfloat16 — weights tied between modules, an LSTM's _flat_weights list — and no
  // float32 copy of the model is made.
  torch::jit::Module m = model.clone(/*inplace=*/true);
  m.eval();
  int64_t tensors = 0;
  int64_t bytes_before = 0;
  int64_t bytes_after = 0;
  auto cast = [&](at::Tensor t) {
    if (!t.defined() || !t.is_floating_point() || t.scalar_type() == at::kBFloat16) return;
    bytes_before += t.numel() * static_cast<int64_t>(t.element_size());
    t.set_data(t.to(at::kBFloat16));
    bytes_after += t.numel() * 2;
    ++tensors;
  };
  // Only floating-point tensors: Module::to(dtype) would also cast integer buffers such as
  // position ids.
  for (const auto& p : m.named_parameters(true)) cast(p.value);
  for (const auto& b : m.named_buffers(true)) cast(b.value);
  torch::jit::Module frozen = torch::jit::freeze(m, c10::nullopt, /*optimize_numerics=*/true);
  auto graph = frozen.get_method("forward").graph();
  const auto boundary = passes::cast_boundary(*graph, at::kBFloat16, float_inputs);
  const auto norms = passes::fp32_layer_norm(*graph);
  const auto rms_norms = passes::fp32_rms_norm(*graph);
  const int operands_cast = passes::lowp_compute_inputs(*graph, at::kBFloat16);
  const auto range = passes::lowp_range_constants(*graph);
  torch::jit::EliminateDeadCode(graph);
  QuantizeOutcome out;
  out.quantized = frozen;
  out.details["scheme"] = "bf16";
  out.details["tensors_cast"] = tensors;
  out.details["weight_bytes_before"] = bytes_before;
  out.details["weight_bytes_after"] = bytes_after;
  out.details["inputs_cast_to_bf16"] = boundary.inputs_cast;
  out.details["outputs_cast_to_fp32"] = boundary.outputs_cast;
  out.details["layer_norms_fp32"] = norms.converted;
  out.details["rms_norms_fp32"] = rms_norms.converted;
  out.details["rms_norms_already_fp32"] = rms_norms.already_fp32;
  out.details["product_operands_cast"] = operands_cast;
  out.details["constants_clamped_to_bf16_range"] = range.clamped;
  out.details["cpu_has_avx512_bf16"] = util::cpu_features().avx512_bf16;
  return out;
}

QuantizeOutcome store_fp16(const torch::jit::Module& model) {
  // Shared tensors: freezing folds them into constants and fp16_storage adds half copies.
  torch::jit::Module m = model.clone(/*inplace=*/true);
  m.eval();
  torch::jit::Module frozen = torch::jit::freeze(m, c10::nullopt, /*optimize_numerics=*/true);
  const auto r = passes::fp16_storage(*frozen.get_method("forward").graph());
  QuantizeOutcome out;
  out.quantized = frozen;
  out.details["scheme"] = "fp16";
  out.details["compute"] = "float32 (LibTorch 1.13 has no CPU float16 kernels)";
  out.details["tensors_stored_fp16"] = r.tensors;
  out.details["weight_bytes_before"] = r.bytes_before;
  out.details["weight_bytes_after"] = r.bytes_after;
  util::Json kept = util::Json::array();
  for (const auto& name : r.kept_fp32) kept.push_back(name);
  out.details["kept_fp32_out_of_range"] = kept;
  if (!r.kept_fp32.empty()) {
    out.warnings.push_back(fmt::format("{} weight tensors have values beyond float16's range and "
                                       "stay float32",
                                       r.kept_fp32.size()));
  }
  return out;
}

void apply_onednn_isa(const QuantizeOptions& options, util::Json& details,
                      std::vector<std::string>& warnings) {
  IsaDecision d = decide_onednn_isa(util::cpu_features(), options,
                                    util::onednn_isa_from_environment());
  if (d.cap) {
    if (!util::cap_onednn_isa(*d.cap)) {
      warnings.push_back(fmt::format("onednn_isa: could not cap oneDNN at {}: it had already "
                                     "chosen its instruction set in this process",
                                     util::onednn_isa_name(*d.cap)));
      d.cap.reset();
    } else if (*d.cap != util::OnednnIsa::all) {
      details["deploy_env"] = "ONEDNN_MAX_CPU_ISA=" + util::onednn_isa_env_value(*d.cap);
      log::info("onednn_isa: oneDNN capped at {} ({}); serve the artifact with {}",
                util::onednn_isa_name(*d.cap), d.reason, details.at("deploy_env").as_string());
    }
  }
  details["onednn_isa"] = util::onednn_isa_name(util::onednn_effective_isa());
  details["onednn_isa_cap"] = d.cap ? util::onednn_isa_name(*d.cap) : std::string("none");
  details["onednn_isa_reason"] = d.reason;
}

job::Job quantize_job(const QuantizeOptions& options) {
  job::Job j;
  j.command = "quantize";
  j.transform = [options](torch::jit::Module original, const job::TransformInput& in) {
    // First: oneDNN fixes its ISA at its first primitive, and nothing has run one yet.
    util::Json isa_details = util::Json::object();
    std::vector<std::string> isa_warnings;
    apply_onednn_isa(options, isa_details, isa_warnings);
    QuantizeOutcome q;
    passes::AttentionRewrites rewrites;
    // The runner hands over its only handle: the rewrites below may change `original`. Its
    // methods are cloned first (they may have run while the inputs were checked); its tensors
    // are not copied.
    original = original.clone(/*inplace=*/true);
    if (options.optimize_attention) rewrites = passes::optimize_attention(original);
    const int fused_gelu = options.fuse_gelu ? passes::fuse_tanh_gelu(original) : 0;
    // int8 quantizes Linear layers: GPT-2's Conv1D layers become ones first.
    job::TransformResult canonical;
    if (options.scheme == Scheme::dynamic_int8 || options.scheme == Scheme::static_int8) {
      job::canonicalize_matrix_layers(original, canonical);
    }
    if (options.scheme == Scheme::bf16) {
      std::vector<bool> float_inputs;
      for (const auto& arg : in.latency_batch.args) {
        float_inputs.push_back(arg.isTensor() && arg.toTensor().is_floating_point());
      }
      q = cast_bf16(original, float_inputs);
    } else if (options.scheme == Scheme::fp16) {
      q = store_fp16(original);
    } else if (options.scheme == Scheme::static_int8) {
      use_engine(options.engine, options.origin);
      const data::InputSet calibration = job::calibration_batches(
          original, options.calibration_data, options.calibration_batches, in);
      q = quantize_static(original, options, calibration.batches);
      q.details["calibration_source"] = calibration.source;
      // Without calibration_data, agreement is measured on the same data: say so.
      if (!options.calibration_data) {
        q.warnings.push_back(fmt::format(
            "static-int8 was calibrated on the first {} batches of {}, which the agreement and "
            "metric figures also cover; quantize.calibration_data keeps them apart",
            q.details.at("calibration_batches").as_int(), in.inputs.source));
      }
    } else {
      use_engine(options.engine, options.origin);
      q = quantize_dynamic(original, options);
    }
    if (options.scheme == Scheme::dynamic_int8 || options.scheme == Scheme::static_int8) {
      const auto plan = plan_layers(original, options, options.scheme == Scheme::dynamic_int8);
      report_coverage(matrix_coverage(original, plan), q.details, q.warnings);
    }
    job::TransformResult t;
    t.artifact = q.quantized;
    t.details = std::move(q.details);
    if (options.optimize_attention) t.details["attention_rewrites"] = passes::to_json(rewrites);
    if (options.fuse_gelu) t.details["fused_gelu"] = fused_gelu;
    for (const auto& [key, value] : isa_details.as_object()) t.details[key] = value;
    for (const auto& [key, value] : canonical.details.as_object()) t.details[key] = value;
    t.warnings = std::move(q.warnings);
    t.warnings.insert(t.warnings.end(), canonical.warnings.begin(), canonical.warnings.end());
    t.warnings.insert(t.warnings.end(), isa_warnings.begin(), isa_warnings.end());
    if (options.scheme == Scheme::dynamic_int8 || options.scheme == Scheme::static_int8) t.quantized_engine = engine_name(options.engine);
    return t;
  };
  return j;
}

}  // namespace llmc::quantize
