#pragma once
#include <CLI/CLI.hpp>
#include "common.h"
namespace llmc::tools {
void setup_schema(CLI::App& app, const GlobalFlags& global);
}
