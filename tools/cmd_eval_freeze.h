#pragma once
#include <CLI/CLI.hpp>
#include "common.h"
namespace llmc::tools {
void setup_eval_freeze(CLI::App& app, const GlobalFlags& global);
}
