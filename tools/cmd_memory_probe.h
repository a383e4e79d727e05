#pragma once
#include <CLI/CLI.hpp>
namespace llmc::tools {
// Hidden: the child process of the per-model memory measurement (llmc/bench/memory_probe.h).
void setup_memory_probe(CLI::App& app);
}
