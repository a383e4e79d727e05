// Horizontal bar charts as inline SVG (report.html of `llmc compare`): one bar per model, the
// value written at its end, an axis from 0 with round ticks. Torch-free; the geometry is a
// separate function so that tests can check it without parsing SVG.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "llmc/report/svg_chart.h"  // escape_xml

namespace llmc::report {

struct Bar {
  std::string label;
  std::optional<double> value;  // unset: "not measured", no bar
  bool highlight = false;       // drawn in the reference's colour
};

struct BarRect {
  double x = 0, y = 0, width = 0, height = 0;
};

struct BarGeometry {
  double width = 0, height = 0;  // of the whole SVG
  double plot_x = 0, plot_width = 0;
  double axis_max = 0;           // the value at the right end of the plot
  std::vector<double> ticks;
  std::vector<BarRect> bars;     // one per input bar (zero width when unset or <= 0, at least
                                 // 1 for a positive value)
};

// Layout of `bars`: the axis runs from 0 to a round value at or above the largest value.
BarGeometry bar_geometry(const std::vector<Bar>& bars);

// `title` above the chart, `unit` after each value (e.g. "ms"); `chart` names it for tests and
// styles (data-chart attribute).
std::string svg_bar_chart(const std::string& chart, const std::string& title,
                          const std::string& unit, const std::vector<Bar>& bars);

}  // namespace llmc::report
