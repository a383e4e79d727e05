// The `quantize:` section of a recipe: the scheme (dynamic-int8, static-int8, bf16, fp16), the
// quantized engine, which layers, how activations are calibrated, and the CPU-dependent choices
// (activation range, activation products, oneDNN's ISA cap) that quantize/cpu_policy.h decides.
#pragma once

#include <optional>
#include <string>
#include <vector>

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

}  // namespace llmc::quantize
