#include "llmc/recipe/scalar.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>

#include <fmt/format.h>

#include "llmc/util/excerpt.h"

namespace llmc::recipe {

namespace {

std::string number_text(double v) {
  if (v == std::numeric_limits<double>::infinity()) return "inf";
  if (v == -std::numeric_limits<double>::infinity()) return "-inf";
  return fmt::format("{}", v);
}

bool is_scalar(const YAML::Node& node, const std::string& key, Context& ctx,
               const char* expected) {
  if (node.IsScalar()) return true;
  ctx.error(node, key, fmt::format("expected {}, got {}", expected, describe_node(node)));
  return false;
}

}  // namespace

std::string interval_text(double lo, double hi, bool lo_open, bool hi_open) {
  return fmt::format("{}{}, {}{}", lo_open ? '(' : '[', number_text(lo), number_text(hi),
                     hi_open ? ')' : ']');
}

std::optional<std::string> read_string(const YAML::Node& node, const std::string& key,
                                       Context& ctx) {
  if (!is_scalar(node, key, ctx, "a string")) return std::nullopt;
  const size_t before = ctx.issues().size();
  std::string value = ctx.interpolate(node, key, node.Scalar());
  if (ctx.issues().size() != before) return std::nullopt;
  return value;
}

std::optional<bool> read_bool(const YAML::Node& node, const std::string& key, Context& ctx) {
  if (!is_scalar(node, key, ctx, "true or false")) return std::nullopt;
  const auto text = read_string(node, key, ctx);
  if (!text) return std::nullopt;
  if (*text == "true" || *text == "True" || *text == "yes") return true;
  if (*text == "false" || *text == "False" || *text == "no") return false;
  ctx.error(node, key, fmt::format("expected true or false, got \"{}\"", util::excerpt(*text)));
  return std::nullopt;
}

std::optional<int64_t> read_int(const YAML::Node& node, const std::string& key, Context& ctx,
                                int64_t lo, int64_t hi) {
  if (!is_scalar(node, key, ctx, "an integer")) return std::nullopt;
  const auto text = read_string(node, key, ctx);
  if (!text) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(text->c_str(), &end, 10);
  if (text->empty() || *end != '\0' || errno == ERANGE) {
    ctx.error(node, key, fmt::format("expected an integer, got \"{}\"", util::excerpt(*text)));
    return std::nullopt;
  }
  if (v < lo || v > hi) {
    ctx.error(node, key,
              fmt::format("{} is out of range: expected an integer in [{}, {}]", v, lo, hi));
    return std::nullopt;
  }
  return static_cast<int64_t>(v);
}

std::optional<double> read_double(const YAML::Node& node, const std::string& key, Context& ctx,
                                  double lo, double hi, bool lo_open, bool hi_open) {
  if (!is_scalar(node, key, ctx, "a number")) return std::nullopt;
  const auto text = read_string(node, key, ctx);
  if (!text) return std::nullopt;
  std::string t = *text;
  if (t == ".inf" || t == "inf") t = "inf";
  if (t == "-.inf" || t == "-inf") t = "-inf";
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(t.c_str(), &end);
  if (t.empty() || *end != '\0' || std::isnan(v)) {
    ctx.error(node, key, fmt::format("expected a number, got \"{}\"", util::excerpt(*text)));
    return std::nullopt;
  }
  const bool below = lo_open ? v <= lo : v < lo;
  const bool above = hi_open ? v >= hi : v > hi;
  if (below || above) {
    ctx.error(node, key,
              fmt::format("{} is out of range: expected a number in {}", *text,
                          interval_text(lo, hi, lo_open, hi_open)));
    return std::nullopt;
  }
  return v;
}

std::optional<std::vector<YAML::Node>> read_list(const YAML::Node& node, const std::string& key,
                                                 Context& ctx, bool allow_scalar) {
  if (node.IsSequence()) {
    std::vector<YAML::Node> items;
    for (const auto& item : node) items.push_back(item);
    return items;
  }
  if (allow_scalar && node.IsScalar()) return std::vector<YAML::Node>{node};
  ctx.error(node, key, fmt::format("expected a list, got {}", describe_node(node)));
  return std::nullopt;
}

}  // namespace llmc::recipe
