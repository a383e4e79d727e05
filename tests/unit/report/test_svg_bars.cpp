// Bar charts of report.html: geometry (bars proportional to their values on an axis from 0 to a
// round value at or above the largest), unmeasured values, and the SVG's text escaped.
#include <doctest/doctest.h>

#include "llmc/report/svg_bars.h"

using llmc::report::Bar;
using llmc::report::bar_geometry;

TEST_CASE("bar_geometry: widths proportional to the values, one row per bar") {
  const auto g = bar_geometry({{"a", 10.0, true}, {"b", 25.0, false}, {"c", 5.0, false}});
  REQUIRE(g.bars.size() == 3);
  CHECK(g.axis_max >= 25);
  CHECK(g.axis_max == g.ticks.back());
  CHECK(g.ticks.front() == 0);
  CHECK(g.bars[1].width == doctest::Approx(25 / g.axis_max * g.plot_width));
  CHECK(g.bars[0].width == doctest::Approx(g.bars[1].width * 10 / 25));
  CHECK(g.bars[2].width == doctest::Approx(g.bars[1].width * 5 / 25));
  for (size_t i = 0; i < 3; ++i) {
    CHECK(g.bars[i].x == g.plot_x);
    CHECK(g.bars[i].height > 0);
    CHECK(g.bars[i].x + g.bars[i].width <= g.plot_x + g.plot_width);
    if (i > 0) CHECK(g.bars[i].y >= g.bars[i - 1].y + g.bars[i - 1].height);
  }
  CHECK(g.bars[2].y + g.bars[2].height < g.height);
  CHECK(g.plot_x + g.plot_width < g.width);
}

TEST_CASE("bar_geometry: unmeasured and zero values get no bar; all unmeasured keeps an axis") {
  const auto g = bar_geometry({{"a", std::nullopt, false}, {"b", 0.0, false}, {"c", 3.0, false}});
  CHECK(g.bars[0].width == 0);
  CHECK(g.bars[1].width == 0);
  CHECK(g.bars[2].width > 0);
  // A tiny positive value beside a large one stays visible.
  const auto tiny = bar_geometry({{"model", 0.001, false}, {"api", 1000.0, false}});
  CHECK(tiny.bars[0].width == 1);
  const auto none = bar_geometry({{"a", std::nullopt, false}});
  CHECK(none.axis_max > 0);
  CHECK(none.bars[0].width == 0);
}

TEST_CASE("svg_bar_chart: a rect per measured bar, labels escaped, 'not measured' otherwise") {
  const auto svg = llmc::report::svg_bar_chart(
      "latency", "p50 <batch 16>", "ms", {{"teacher & co", 12.5, true}, {"b", std::nullopt, false}});
  CHECK(svg.rfind("<svg class=\"bars\" data-chart=\"latency\"", 0) == 0);
  size_t rects = 0;
  for (size_t p = svg.find("<rect class=\"bar\""); p != std::string::npos;
       p = svg.find("<rect class=\"bar\"", p + 1)) {
    ++rects;
  }
  CHECK(rects == 1);
  CHECK(svg.find("teacher &amp; co") != std::string::npos);
  CHECK(svg.find("p50 &lt;batch 16&gt;") != std::string::npos);
  CHECK(svg.find("12.5 ms") != std::string::npos);
  CHECK(svg.find("not measured") != std::string::npos);
  CHECK(llmc::report::escape_xml("<a href='x'>\"&\"</a>") ==
        "&lt;a href=&#39;x&#39;&gt;&quot;&amp;&quot;&lt;/a&gt;");
}
