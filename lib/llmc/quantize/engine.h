// The quantized engines (int8 kernel libraries) of this LibTorch build, and the one this process
// uses.
#pragma once

#include <string>
#include <vector>

#include "llmc/quantize/recipe.h"

namespace llmc::quantize {

// The engines this LibTorch build supports ("onednn", "qnnpack").
std::vector<std::string> supported_engines();
std::string engine_name(Engine engine);
// "" when this LibTorch build has `engine`, else why not ("engine fbgemm is not available in
// this LibTorch build (available: onednn, qnnpack)").
std::string engine_unavailable(Engine engine);
// Makes `engine` the quantized engine of this process; RecipeError (at `where`) when the build
// does not have it.
void use_engine(Engine engine, const recipe::Origin& where);

}  // namespace llmc::quantize
