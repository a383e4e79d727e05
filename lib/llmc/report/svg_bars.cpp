#include "llmc/report/svg_bars.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "llmc/report/svg_chart.h"

namespace llmc::report {

namespace {

constexpr double kLabelWidth = 190, kPlotWidth = 330, kValueWidth = 110;
constexpr double kTop = 34, kRow = 26, kBarHeight = 18, kAxis = 30;
const char* const kFill = "#4c78a8";
const char* const kHighlight = "#f58518";

std::string value_text(double v, const std::string& unit) {
  const double a = std::abs(v);
  const std::string number = a != 0 && (a >= 1e5 || a < 1e-3) ? fmt::format("{:.2e}", v)
                             : a >= 100                      ? fmt::format("{:.0f}", v)
                                                             : fmt::format("{:.3g}", v);
  return unit.empty() ? number : number + " " + unit;
}

}  // namespace

BarGeometry bar_geometry(const std::vector<Bar>& bars) {
  BarGeometry g;
  g.plot_x = kLabelWidth;
  g.plot_width = kPlotWidth;
  g.width = kLabelWidth + kPlotWidth + kValueWidth;
  g.height = kTop + kRow * static_cast<double>(bars.size()) + kAxis;
  double top = 0;
  for (const auto& b : bars) {
    if (b.value && std::isfinite(*b.value)) top = std::max(top, *b.value);
  }
  g.ticks = top > 0 ? nice_ticks(0, top, 5) : std::vector<double>{0, 1};
  g.axis_max = std::max(g.ticks.back(), top);
  for (size_t i = 0; i < bars.size(); ++i) {
    BarRect r;
    r.x = g.plot_x;
    r.y = kTop + kRow * static_cast<double>(i) + (kRow - kBarHeight) / 2;
    r.height = kBarHeight;
    const auto& v = bars[i].value;
    // A positive value stays visible however small beside the largest (a model's cost beside a
    // hosted API's): at least a pixel.
    if (v && std::isfinite(*v) && *v > 0) r.width = std::max(1.0, *v / g.axis_max * g.plot_width);
    g.bars.push_back(r);
  }
  return g;
}

std::string svg_bar_chart(const std::string& chart, const std::string& title,
                          const std::string& unit, const std::vector<Bar>& bars) {
  const BarGeometry g = bar_geometry(bars);
  std::string out = fmt::format(
      "<svg class=\"bars\" data-chart=\"{0}\" width=\"{1}\" height=\"{2}\" viewBox=\"0 0 {1} {2}\" "
      "role=\"img\" aria-label=\"{3}\">\n"
      "<text x=\"{4}\" y=\"18\" font-weight=\"bold\" font-size=\"14\">{3}</text>\n",
      escape_xml(chart), g.width, g.height, escape_xml(title), 4);
  const double axis_y = g.height - kAxis + 6;
  for (double t : g.ticks) {
    const double x = g.plot_x + t / g.axis_max * g.plot_width;
    out += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" "
                       "stroke=\"#ddd\"/><text x=\"{0:.1f}\" y=\"{3:.1f}\" font-size=\"11\" "
                       "text-anchor=\"middle\">{4}</text>\n",
                       x, kTop - 4, axis_y, axis_y + 14, value_text(t, ""));
  }
  for (size_t i = 0; i < bars.size(); ++i) {
    const auto& b = bars[i];
    const auto& r = g.bars[i];
    const double mid = r.y + r.height / 2 + 4;
    out += fmt::format("<text x=\"{}\" y=\"{:.1f}\" font-size=\"12\" text-anchor=\"end\">{}</text>\n",
                       g.plot_x - 8, mid, escape_xml(b.label));
    if (!b.value || !std::isfinite(*b.value)) {
      out += fmt::format("<text x=\"{}\" y=\"{:.1f}\" font-size=\"12\" fill=\"#888\">not "
                         "measured</text>\n",
                         g.plot_x + 4, mid);
      continue;
    }
    out += fmt::format("<rect class=\"bar\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" "
                       "height=\"{:.1f}\" fill=\"{}\"><title>{}: {}</title></rect>\n",
                       r.x, r.y, r.width, r.height, b.highlight ? kHighlight : kFill,
                       escape_xml(b.label), escape_xml(value_text(*b.value, unit)));
    out += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"12\">{}</text>\n",
                       r.x + r.width + 6, mid, escape_xml(value_text(*b.value, unit)));
  }
  return out + "</svg>\n";
}

}  // namespace llmc::report
