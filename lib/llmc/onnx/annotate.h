// Step 2: run the prepared graph node by node on two input sets that differ on every dynamic
// axis (run A and run B), recording each value in both runs. A value is dynamic when it depends
// on the inputs; shape queries (size, dim, dtype, `is None`) are dynamic only when their result
// differs between the runs, so shapes on fixed axes fold into constants. prim::If with a static
// condition is replaced by the branch taken; control flow on input data is refused, naming
// the source line.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include <torch/script.h>

namespace llmc::onnx {

struct ValueInfo {
  bool dynamic = false;
  // Depends on the inputs' data, not only on their shapes (a size, a list of sizes, a check
  // on them is shape-only).
  bool data = false;
  c10::IValue a;  // the value in run A
  c10::IValue b;  // the value in run B
};

struct Annotation {
  std::unordered_map<const torch::jit::Value*, ValueInfo> values;
  const ValueInfo& at(const torch::jit::Value* v) const;
};

// Inputs are in the graph's input order. The graph is changed in place (static If inlined).
// InputError for control flow on input data, or when the model fails on run B's shapes (a
// trace that baked a dynamic size in), naming the node.
Annotation annotate(torch::jit::Graph& graph, const std::vector<c10::IValue>& run_a,
                    const std::vector<c10::IValue>& run_b, const std::string& model_path,
                    std::vector<std::string>* warnings = nullptr);

// Sizes of a tensor value with -1 where runs A and B differ.
std::vector<int64_t> merged_sizes(const ValueInfo& info);

}  // namespace llmc::onnx
