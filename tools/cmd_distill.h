#pragma once
#include <CLI/CLI.hpp>
#include "common.h"
namespace llmc::tools {
void setup_distill(CLI::App& app, const GlobalFlags& global);
}
