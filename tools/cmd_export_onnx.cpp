// `llmc export-onnx RECIPE`: arguments -> options -> llmc::onnx -> result.
#include "cmd_export_onnx.h"

#include <memory>

#include "llmc/onnx/export.h"

namespace llmc::tools {

void setup_export_onnx(CLI::App& app, const GlobalFlags& global) {
  auto flags = std::make_shared<RunFlags>();
  CLI::App* sub = app.add_subcommand(
      "export-onnx", "TorchScript to ONNX (opset 13-17) in C++, verified against ONNX Runtime on "
                     "several input shapes, with a report");
  add_run_flags(sub, *flags);
  sub->callback([flags, &global] {
    const auto recipe = onnx::parse_export_recipe(flags->recipe, overrides(*flags));
    finish(onnx::run_export(recipe, run_options(*flags)), global);
  });
}

}  // namespace llmc::tools
