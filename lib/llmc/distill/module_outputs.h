// A variant of a TorchScript module whose forward also returns what chosen submodules output
// (hidden states for distillation), found in the TorchScript graph rather than with Python
// hooks. Traced and scripted models alike keep a submodule call as
// prim::CallMethod[name="forward"] on a prim::GetAttr chain from `self` ("bert", "encoder",
// "layer", "11"); a call nested in a submodule's forward (a layer inside the encoder) is reached
// by inlining only the calls on the way to it (bert's, then the encoder's) into a copy of the
// top-level forward, and its value is returned as an extra output.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include <torch/script.h>

namespace llmc::distill {

// Why a module path cannot be exposed. `message` says what was found instead.
class ModuleOutputError : public std::runtime_error {
 public:
  enum class Kind {
    missing,     // no submodule of that name (candidates: the nearest existing names)
    not_called,  // the submodule exists but its forward is not called where it can be read
    not_tensor,  // its forward returns something without a tensor (the message names it)
  };
  ModuleOutputError(Kind kind, std::string path, const std::string& message,
                    std::vector<std::string> candidates = {})
      : std::runtime_error(message),
        kind(kind),
        path(std::move(path)),
        candidates(std::move(candidates)) {}
  Kind kind;
  std::string path;
  std::vector<std::string> candidates;
};

// A clone of `m` sharing its parameter and buffer tensors (training the variant trains `m`)
// whose forward returns the tuple (m's own output, output of paths[0], output of paths[1], ...).
// A submodule's output is the value its forward returns, or the first tensor of a returned
// tuple (Hugging Face layers return tuples). `m` itself is left unchanged. Throws
// ModuleOutputError.
torch::jit::Module with_module_outputs(const torch::jit::Module& m,
                                       const std::vector<std::string>& paths);

// The dotted names of every submodule of `m` (not `m` itself), in definition order.
std::vector<std::string> submodule_names(const torch::jit::Module& m);

// Up to `limit` of `names`, nearest to `path` first (edit distance, ties in the given order).
std::vector<std::string> nearest_names(const std::string& path,
                                       const std::vector<std::string>& names, size_t limit);

}  // namespace llmc::distill
