// Reading one YAML scalar as a typed value. Each reader interpolates ${ENV} first, and on a bad
// value records an issue at the node and returns nullopt.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "llmc/recipe/context.h"

namespace llmc::recipe {

std::optional<std::string> read_string(const YAML::Node& node, const std::string& key,
                                       Context& ctx);
std::optional<bool> read_bool(const YAML::Node& node, const std::string& key, Context& ctx);
std::optional<int64_t> read_int(const YAML::Node& node, const std::string& key, Context& ctx,
                                int64_t lo, int64_t hi);
// `lo_open`/`hi_open` make the bound exclusive: (0, 1] is lo=0, lo_open=true.
std::optional<double> read_double(const YAML::Node& node, const std::string& key, Context& ctx,
                                  double lo, double hi, bool lo_open = false,
                                  bool hi_open = false);
// The items of a list node, or nullopt (with an issue) if the node is not a list. A single
// scalar is accepted as a one-item list when `allow_scalar`.
std::optional<std::vector<YAML::Node>> read_list(const YAML::Node& node, const std::string& key,
                                                 Context& ctx, bool allow_scalar);

// "[0, 1)" style interval text for docs and messages.
std::string interval_text(double lo, double hi, bool lo_open, bool hi_open);

}  // namespace llmc::recipe
