// `llmc quantize`: post-training quantization of a TorchScript model. The int8 schemes use
// LibTorch's own graph-mode quantization passes (InsertObservers, InsertQuantDeQuant, Finalize —
// what Python's quantize_dynamic_jit / quantize_jit drive): dynamic-int8 stores Linear (and
// LSTM) weights in int8 and quantizes activations at run time; static-int8 also quantizes
// activations with ranges calibrated on data. bf16 casts weights and computes in bfloat16
// (norms in float32); fp16 stores weights in half precision and computes in float32.
// docs/quantize.md says which scheme suits which CPU.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <torch/script.h>

#include "llmc/data/inputs.h"
#include "llmc/job/job.h"
#include "llmc/recipe/common.h"
#include "llmc/recipe/schema.h"

namespace llmc::quantize {

enum class Scheme { dynamic_int8, static_int8, bf16, fp16 };
enum class Engine { onednn, qnnpack, fbgemm, x86 };
enum class Observer { minmax, percentile };
// int8 schemes: precision of activation x activation products; auto: bf16 where the CPU has
// AVX512-BF16 (and the model has such products), else fp32.
enum class MatmulPrecision { automatic, fp32, bf16 };
// dynamic-int8 activations: full 8-bit range, or 7 bits (reduce_range) for int8 kernels that
// can saturate without VNNI; auto: full where the CPU has VNNI and the engine is onednn.
enum class ActivationRange { automatic, full, reduced };
// The ISA oneDNN may dispatch to in the process that quantizes and measures (util/onednn.h);
// auto: avx512_core_bf16 for dynamic-int8 with onednn on a CPU with AMX, else no cap.
enum class IsaCap { automatic, all, avx512_core_amx, avx512_core_bf16, avx512_core_vnni, avx512_core, avx2 };

struct QuantizeOptions {
  Scheme scheme = Scheme::dynamic_int8;
  Engine engine = Engine::onednn;
  std::vector<std::string> include = {"*"};  // module-name globs of layers to quantize
  std::vector<std::string> exclude;          // globs kept in fp32 (e.g. "classifier")
  bool embeddings = false;                   // also 8-bit-per-row embedding tables
  int64_t calibration_batches = 8;           // static-int8: data batches run through observers
  // static-int8: calibration batches from their own JSONL (default: the recipe's data)
  std::optional<recipe::DataSpec> calibration_data;
  Observer observer = Observer::minmax;      // static-int8 activation ranges
  double percentile = 99.99;                 // for Observer::percentile
  bool per_channel = false;                  // int8 weights: one scale per output channel
  // int8 schemes: activation x activation products (attention) in float32 or bfloat16
  MatmulPrecision activation_matmuls = MatmulPrecision::automatic;
  bool optimize_attention = true;            // passes::optimize_attention before quantizing
  bool fuse_gelu = true;                     // passes::fuse_tanh_gelu before quantizing
  ActivationRange activation_range = ActivationRange::automatic;
  IsaCap onednn_isa = IsaCap::automatic;
  recipe::Origin origin;
};

struct QuantizeRecipe {
  recipe::CommonRecipe common;
  QuantizeOptions quantize;
};

recipe::Section<QuantizeRecipe> quantize_schema();
QuantizeRecipe parse_quantize_recipe(const std::string& path, const std::vector<std::string>& sets);

// The engines this LibTorch build supports ("onednn", "qnnpack").
std::vector<std::string> supported_engines();
std::string engine_name(Engine engine);
// Makes `engine` the quantized engine of this process; RecipeError (at `where`) when the build
// does not have it.
void use_engine(Engine engine, const recipe::Origin& where);

// One Linear (or LSTM) layer of the model and what happens to it.
struct LayerPlan {
  std::string name;  // module path, e.g. "bert.encoder.layer.0.attention.self.query"
  bool lstm = false;
  int64_t in_features = 0;   // LSTM: input_size
  int64_t out_features = 0;  // LSTM: hidden_size
  bool quantize = false;
};

// The Linear layers of `model`, and with `lstm` its LSTMs, with the include/exclude globs
// applied. RecipeError naming the globs when they select no layer.
std::vector<LayerPlan> plan_layers(const torch::jit::Module& model, const QuantizeOptions& options,
                                   bool lstm = false);

struct QuantizeOutcome {
  torch::jit::Module quantized;
  util::Json details = util::Json::object();
  std::vector<std::string> warnings;
};
QuantizeOutcome quantize_dynamic(const torch::jit::Module& model, const QuantizeOptions& options);

// static-int8: conv + batch-norm folded, observers inserted, `calibration` run through them,
// then weights and activations quantized (Finalize fuses quantized ops). InputError when the
// calibration produces NaN or Inf.
QuantizeOutcome quantize_static(const torch::jit::Module& model, const QuantizeOptions& options,
                                const std::vector<data::Batch>& calibration);

// bf16: floating-point weights and buffers cast to bfloat16, frozen, with float inputs cast to
// bf16 and outputs back to float32 at the graph boundary. `float_inputs[i]`: forward argument i
// is a floating-point tensor.
// `model`'s floating-point parameters and buffers are cast to bfloat16 in place: hand over a
// module that is not needed in float32 afterwards.
QuantizeOutcome cast_bf16(torch::jit::Module model, const std::vector<bool>& float_inputs);

// fp16: frozen, float32 weight constants stored as float16 with a cast back (fp16_storage pass):
// half the file, float32 compute.
QuantizeOutcome store_fp16(const torch::jit::Module& model);

// Caps oneDNN's ISA for this process as `options.onednn_isa` says (before any primitive runs)
// and records what oneDNN dispatches to in `details`.
void apply_onednn_isa(const QuantizeOptions& options, util::Json& details,
                      std::vector<std::string>& warnings);

job::Job quantize_job(const QuantizeOptions& options);

}  // namespace llmc::quantize
