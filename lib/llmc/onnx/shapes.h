// The input shapes export-onnx runs the graph on: the graph inputs (the forward arguments the
// recipe gives) with their named dynamic axes, the second run the annotator needs (every dynamic
// axis resized by a different amount), and the shapes the file is verified on in ONNX Runtime.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <torch/script.h>

#include "llmc/data/inputs.h"
#include "llmc/onnx/ort.h"
#include "llmc/onnx/recipe.h"

namespace llmc::onnx {

// One input set: forward arguments by name (only the given ones), as LibTorch and ORT see them.
struct Shape {
  std::string label;                // "recipe inputs", "resized", "verify.sizes[0]"
  std::vector<NamedTensor> inputs;  // graph order (prepared.input_names)
  data::Batch batch;                // for LibTorch's forward (with labels when known)
  bool user_given = true;           // false: llmc picked the sizes
};

// "input_ids[2,8] attention_mask[2,8]"
std::string describe(const std::vector<NamedTensor>& inputs);

// The given forward arguments (not None) of a batch: the graph's inputs. Throws InputError for
// a given argument that is not a tensor, RecipeError for dynamic_axes or input_names that do not
// fit them.
struct GivenInputs {
  std::vector<size_t> args;        // forward argument indices
  std::vector<std::string> names;  // their forward argument names
};
GivenInputs given_inputs(const data::Batch& first, const std::vector<std::string>& arg_names,
                         const ExportOptions& o, const std::string& model_path);

// The graph inputs' ONNX names and named dynamic axes, from the recipe and the first batch.
class ShapePlan {
 public:
  // Throws RecipeError for axes that a tensor does not have or that disagree in size.
  ShapePlan(const data::Batch& first, GivenInputs given, const ExportOptions& o);

  const std::vector<std::string>& onnx_names() const { return onnx_names_; }
  // `base` with each named dynamic axis in `sizes` resized (cut, or repeated and cut).
  Shape make(const std::string& label, const data::Batch& base,
             const std::map<std::string, int64_t>& sizes, bool user_given) const;
  // Run A (the recipe's inputs) and run B (every dynamic axis resized by a different amount, so
  // that sizes that follow an axis are told apart from fixed ones), for the annotator.
  Shape run_a() const;
  Shape run_b() const;
  // What the file is verified on: the recipe's batches, run B, and verify.sizes (or, without
  // them, every dynamic axis one longer).
  std::vector<Shape> verification(const std::vector<data::Batch>& batches) const;

 private:
  struct Axis {
    size_t arg;
    int64_t axis;
    std::string name;
  };
  const data::Batch& first_;
  GivenInputs given_;
  const ExportOptions& o_;
  std::vector<std::string> onnx_names_;
  std::vector<Axis> axes_;
  std::map<std::string, int64_t> size_a_;
  std::map<std::string, int64_t> size_b_;
};

}  // namespace llmc::onnx
