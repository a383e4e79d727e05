// `llmc quantize`: post-training quantization of a TorchScript model. The int8 schemes use
// LibTorch's own graph-mode quantization passes (InsertObservers, InsertQuantDeQuant, Finalize —
// what Python's quantize_dynamic_jit / quantize_jit drive): dynamic-int8 stores Linear (and
// LSTM) weights in int8 and quantizes activations at run time; static-int8 also quantizes
// activations with ranges calibrated on data. bf16 casts weights and computes in bfloat16
// (norms in float32); fp16 stores weights in half precision and computes in float32.
// docs/quantize.md says which scheme suits which CPU.
// Where it lives: the recipe section in recipe.h, the engines in engine.h, the CPU-dependent
// choices in cpu_policy.h; below, the int8 schemes (int8.cpp), bf16 and fp16 (lowp.cpp) and
// the job (quantize.cpp).
#pragma once

#include <string>
#include <vector>

#include <torch/script.h>

#include "llmc/data/inputs.h"
#include "llmc/job/job.h"
#include "llmc/quantize/engine.h"
#include "llmc/quantize/recipe.h"

namespace llmc::quantize {

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

// What a scheme made: the artifact, its report details and warnings.
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
