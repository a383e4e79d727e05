// `llmc inspect MODEL.pt`: parameters, buffers, methods and the op histogram of forward.
#include "cmd_inspect.h"

#include <cstdio>
#include <memory>

#include "llmc/model/inspect.h"
#include "llmc/model/load.h"

namespace llmc::tools {

void setup_inspect(CLI::App& app, const GlobalFlags& global) {
  auto path = std::make_shared<std::string>();
  CLI::App* sub = app.add_subcommand(
      "inspect", "list a TorchScript model's parameters, buffers, methods and forward ops");
  sub->add_option("model", *path, "TorchScript model file")->required();
  sub->callback([path, &global] {
    const auto module = model::load(*path);
    const auto info = model::inspect(module, *path);
    const std::string text = global.json ? model::to_json(info).dump(2) + "\n" : model::to_text(info);
    std::fputs(text.c_str(), stdout);
  });
}

}  // namespace llmc::tools
