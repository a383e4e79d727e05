// Learning-curve charts: tick values and the SVG's content.
#include <doctest/doctest.h>

#include "llmc/report/svg_chart.h"

#include <cmath>

using llmc::report::nice_ticks;

TEST_CASE("nice ticks are round and cover the range") {
  const auto t = nice_ticks(0.13, 0.87, 6);
  REQUIRE(t.size() >= 2);
  CHECK(t.front() <= 0.13);
  CHECK(t.back() >= 0.87);
  CHECK(t[1] - t[0] == doctest::Approx(0.2));
  const auto e = nice_ticks(1, 10, 6);
  CHECK(e.front() == 0);
  CHECK(e.back() == 10);
  CHECK(nice_ticks(3, 3, 5).size() == 1);
}

TEST_CASE("svg_line_charts draws one polyline per series, escapes text, survives NaN") {
  llmc::report::Panel loss{"training <loss>", "epoch",
                           {{"train loss", {{1, 0.7}, {2, 0.5}, {3, 0.45}}},
                            {"soft & task", {{1, 0.2}, {2, std::nan("")}, {3, 0.1}}}}};
  llmc::report::Panel empty{"evaluation", "epoch", {}};
  const auto svg = llmc::report::svg_line_charts("curves", {loss, empty});
  CHECK(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0) == 0);
  CHECK(svg.find("</svg>") != std::string::npos);
  size_t polylines = 0;
  for (size_t p = svg.find("<polyline"); p != std::string::npos; p = svg.find("<polyline", p + 1)) ++polylines;
  CHECK(polylines == 2);
  CHECK(svg.find("training &lt;loss&gt;") != std::string::npos);
  CHECK(svg.find("soft &amp; task") != std::string::npos);
  CHECK(svg.find("nan") == std::string::npos);
  CHECK(svg.find("no data") != std::string::npos);
}
