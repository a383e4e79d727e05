// Pass functional_slice_assign: `x[:, :, :, :n] = y` as a trace records it — a chain of
// aten::slice views of a base tensor (step 1), then aten::copy_(view, y) — becomes a value
// without mutation, for exporters whose targets have none (ONNX):
//
//   cat([slice(base, d, 0, a), expand_as(type_as(y, base), view), slice(base, d, b, end)], d)
//
// along the one dimension d the chain narrows (slices from 0 to the end are looked through; no
// narrowing at all is a whole-tensor copy), and every later use of the base reads it. LLaMA's
// causal-mask code in transformers writes its padding this way.
//
// changed: the slice assignments rewritten. Left alone, with the reason: a copy_ into no slice, a chain that narrows more than one dimension or steps, a copy_ whose
// result is used, a view of the base (other than the chain) that is read after the copy_.
#pragma once

#include <torch/script.h>

#include "llmc/passes/pass_result.h"

namespace llmc::passes {

PassResult functional_slice_assign(torch::jit::Graph& graph);

}  // namespace llmc::passes
