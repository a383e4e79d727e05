#pragma once
#include <CLI/CLI.hpp>
#include "common.h"
namespace llmc::tools {
void setup_prune(CLI::App& app, const GlobalFlags& global);
}
