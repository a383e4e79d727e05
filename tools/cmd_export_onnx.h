#pragma once
#include <CLI/CLI.hpp>
#include "common.h"
namespace llmc::tools {
void setup_export_onnx(CLI::App& app, const GlobalFlags& global);
}
