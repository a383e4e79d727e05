#include "llmc/onnx/recipe.h"

#include <fmt/format.h>

#include "llmc/recipe/parse.h"

namespace llmc::onnx {

namespace {

recipe::Section<VerifyOptions> verify_schema() {
  recipe::Section<VerifyOptions> s;
  s.choice("runtime", &VerifyOptions::runtime,
           {{"onnxruntime", Runtime::onnxruntime}, {"none", Runtime::none}},
           "run the exported file in ONNX Runtime (onnxruntime-node) on several input shapes and "
           "compare with LibTorch; none: checker and shape inference only, no numbers (the "
           "report says so)");
  s.integers_map("sizes", &VerifyOptions::sizes, 1, 1 << 20,
                 "sizes of named dynamic axes to verify on, entry i of each list making shape i "
                 "(e.g. {batch: [1, 5], sequence: [7, 40]}); the recipe's own inputs are always "
                 "verified too; default: two shapes llmc picks");
  s.number("tolerance", &VerifyOptions::tolerance, 0, 1e30,
           "largest allowed max abs difference between ONNX Runtime and LibTorch outputs on any "
           "verified shape (float32 models)");
  s.number("quantized_tolerance", &VerifyOptions::quantized_tolerance, 0, 1e30,
           "the same for models quantized by llmc quantize (int8 rounding may differ between "
           "runtimes)");
  s.text("runner", &VerifyOptions::runner,
         "the ONNX Runtime runner script (tools/ort/ort_run.cjs next to its node_modules); "
         "default: $LLMC_ORT_RUNNER, then the one of this build");
  return s;
}

}  // namespace

recipe::Section<ExportRecipe> export_schema() {
  recipe::Section<ExportOptions> s;
  s.integer("opset", &ExportOptions::opset, kMinOpset, kMaxOpset,
            "ONNX opset of the file (17 writes LayerNormalization; 13-16 a decomposed layer "
            "norm)");
  s.texts("input_names", &ExportOptions::input_names,
          "names of the graph inputs, in forward's argument order; default: the argument names");
  s.texts("output_names", &ExportOptions::output_names,
          "names of the graph outputs (a tuple output has one per element); default: output, "
          "output_1, ...");
  s.texts_map("dynamic_axes", &ExportOptions::dynamic_axes,
              "input name -> axis names by position, \"_\" for a fixed axis (e.g. input_ids: "
              "[batch, sequence]; pixel_values: [batch]); every other axis is fixed at the "
              "recipe's input size. Output axes that follow them are named after them");
  s.choice("external_data", &ExportOptions::external_data,
           {{"auto", ExternalData::automatic},
            {"always", ExternalData::always},
            {"never", ExternalData::never}},
           "store weights in a model.onnx.data file next to model.onnx: auto does so when the "
           "file would pass protobuf's 2 GB limit");
  s.section("verify", &ExportOptions::verify, verify_schema(),
            "numerical verification of the file in ONNX Runtime");
  s.origin(&ExportOptions::origin);

  recipe::Section<ExportRecipe> root;
  root.inline_section(&ExportRecipe::common, recipe::common_schema());
  root.section("export_onnx", &ExportRecipe::onnx, s, "ONNX export options").required();
  root.check([](const ExportRecipe& r, const recipe::Origin&, recipe::Context& ctx) {
    const auto& o = r.onnx;
    auto add = [&](const std::string& key, const std::string& message) {
      ctx.add({o.origin.location, recipe::join_key(o.origin.key, key), message});
    };
    // Input names the recipe knows: example_inputs' names and the data's forward arguments.
    std::vector<std::string> known;
    for (const auto& in : r.common.example_inputs) known.push_back(in.name);
    if (r.common.data) {
      for (const auto& [arg, field] : r.common.data->inputs) known.push_back(arg);
      if (!r.common.data->text.empty()) {
        known.push_back("input_ids");
        known.push_back("attention_mask");
      }
    }
    std::vector<std::string> axis_names_seen;
    for (const auto& [input, axes] : o.dynamic_axes) {
      const bool listed = std::find(known.begin(), known.end(), input) != known.end() ||
                          std::find(o.input_names.begin(), o.input_names.end(), input) !=
                              o.input_names.end();
      if (!listed && !known.empty()) {
        std::string names;
        for (const auto& k : known) names += (names.empty() ? "" : ", ") + k;
        add("dynamic_axes." + input,
            fmt::format("no input is called \"{}\" (the recipe's inputs: {})", input, names));
      }
      for (const auto& a : axes) {
        if (!a.empty() && a != "_") axis_names_seen.push_back(a);
      }
    }
    for (const auto& [axis, sizes] : o.verify.sizes) {
      if (std::find(axis_names_seen.begin(), axis_names_seen.end(), axis) ==
          axis_names_seen.end()) {
        add("verify.sizes." + axis,
            fmt::format("\"{}\" is not a dynamic axis named in dynamic_axes", axis));
      }
    }
  });
  recipe::hint_other_sections(root, "export_onnx");
  return root;
}

ExportRecipe parse_export_recipe(const std::string& path, const std::vector<std::string>& sets) {
  return recipe::parse_recipe(path, sets, export_schema());
}

std::vector<std::string> axis_names(const ExportOptions& o, const std::string& input) {
  auto it = o.dynamic_axes.find(input);
  if (it == o.dynamic_axes.end()) return {};
  std::vector<std::string> out;
  for (const auto& a : it->second) out.push_back(a == "_" ? "" : a);
  return out;
}

}  // namespace llmc::onnx
