// Line charts as a standalone SVG file (learning curves next to report.md): panels side by
// side, each with axes, ticks, one polyline per series and a legend. Torch-free.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace llmc::report {

struct Series {
  std::string name;
  std::vector<std::pair<double, double>> points;  // (x, y), in x order
};

struct Panel {
  std::string title;
  std::string x_label;
  std::vector<Series> series;
};

std::string svg_line_charts(const std::string& title, const std::vector<Panel>& panels);

// Text for SVG and HTML: <, >, &, " and ' escaped.
std::string escape_xml(const std::string& text);

// Round, evenly spaced tick values covering [lo, hi] (about `count` of them).
std::vector<double> nice_ticks(double lo, double hi, int count);

}  // namespace llmc::report
