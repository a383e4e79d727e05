#include "llmc/quantize/recipe.h"

#include <optional>

#include "llmc/passes/fuse_tanh_gelu.h"
#include "llmc/passes/optimize_attention.h"
#include "llmc/quantize/cpu_policy.h"
#include "llmc/quantize/engine.h"
#include "llmc/recipe/parse.h"
#include "llmc/util/cpu_features.h"
#include "llmc/util/onednn.h"

namespace llmc::quantize {

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
    if (std::string why = engine_unavailable(o.engine); !why.empty()) {
      ctx.add({where.location, recipe::join_key(where.key, "engine"), why});
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

}  // namespace llmc::quantize
