#include "llmc/report/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace llmc::report {

namespace {

constexpr double kPanelW = 440, kPanelH = 320;
constexpr double kLeft = 60, kRight = 20, kTop = 40, kBottom = 70;
const char* const kColours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"};

std::string tick_label(double v) {
  if (v == 0) return "0";
  const double a = std::abs(v);
  if (a >= 1e4 || a < 1e-3) return fmt::format("{:.1e}", v);
  return fmt::format("{:.4g}", v);
}

std::string panel_svg(const Panel& p, double x0) {
  double xlo = std::numeric_limits<double>::infinity(), xhi = -xlo, ylo = xlo, yhi = -xlo;
  for (const auto& s : p.series) {
    for (const auto& [x, y] : s.points) {
      if (!std::isfinite(x) || !std::isfinite(y)) continue;
      xlo = std::min(xlo, x);
      xhi = std::max(xhi, x);
      ylo = std::min(ylo, y);
      yhi = std::max(yhi, y);
    }
  }
  std::string out = fmt::format("<g transform=\"translate({},0)\">\n", x0);
  out += fmt::format("<text x=\"{}\" y=\"22\" text-anchor=\"middle\" font-weight=\"bold\">{}</text>\n",
                     kPanelW / 2, escape_xml(p.title));
  if (!std::isfinite(xlo)) return out + "<text x=\"60\" y=\"160\">no data</text>\n</g>\n";
  if (xhi == xlo) xhi = xlo + 1;
  if (yhi == ylo) {
    yhi += std::max(1e-6, std::abs(yhi) * 0.05);
    ylo -= std::max(1e-6, std::abs(ylo) * 0.05);
  }
  const auto xt = nice_ticks(xlo, xhi, 6);
  const auto yt = nice_ticks(ylo, yhi, 6);
  xlo = std::min(xlo, xt.front());
  xhi = std::max(xhi, xt.back());
  ylo = std::min(ylo, yt.front());
  yhi = std::max(yhi, yt.back());
  const double w = kPanelW - kLeft - kRight, h = kPanelH - kTop - kBottom;
  auto px = [&](double x) { return kLeft + (x - xlo) / (xhi - xlo) * w; };
  auto py = [&](double y) { return kTop + (1 - (y - ylo) / (yhi - ylo)) * h; };
  out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" "
                     "stroke=\"#444\"/>\n",
                     kLeft, kTop, w, h);
  for (double t : xt) {
    out += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" stroke=\"#ddd\"/>"
                       "<text x=\"{0:.1f}\" y=\"{3}\" text-anchor=\"middle\" font-size=\"11\">{4}"
                       "</text>\n",
                       px(t), kTop, kTop + h, kTop + h + 14, tick_label(t));
  }
  for (double t : yt) {
    out += fmt::format("<line x1=\"{0}\" y1=\"{1:.1f}\" x2=\"{2}\" y2=\"{1:.1f}\" stroke=\"#ddd\"/>"
                       "<text x=\"{3}\" y=\"{4:.1f}\" text-anchor=\"end\" font-size=\"11\">{5}"
                       "</text>\n",
                       kLeft, py(t), kLeft + w, kLeft - 4, py(t) + 4, tick_label(t));
  }
  out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"12\">{}</text>\n",
                     kLeft + w / 2, kTop + h + 32, escape_xml(p.x_label));
  for (size_t i = 0; i < p.series.size(); ++i) {
    const auto& s = p.series[i];
    const char* colour = kColours[i % (sizeof(kColours) / sizeof(kColours[0]))];
    std::string pts;
    for (const auto& [x, y] : s.points) {
      if (!std::isfinite(x) || !std::isfinite(y)) continue;
      pts += fmt::format("{:.1f},{:.1f} ", px(x), py(y));
      out += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"2.5\" fill=\"{}\"/>\n", px(x),
                         py(y), colour);
    }
    out += fmt::format("<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/>\n",
                       pts, colour);
    const double ly = kTop + h + 50 + 0.0;
    const double lx = kLeft + static_cast<double>(i) * 120;
    out += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"{3}\" "
                       "stroke-width=\"3\"/><text x=\"{4}\" y=\"{5}\" font-size=\"11\">{6}</text>\n",
                       lx, ly, lx + 18, colour, lx + 22, ly + 4, escape_xml(s.name));
  }
  return out + "</g>\n";
}

}  // namespace

std::string escape_xml(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::vector<double> nice_ticks(double lo, double hi, int count) {
  if (!(hi > lo)) return {lo};
  const double raw = (hi - lo) / std::max(1, count - 1);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    step = m * mag;
    if (step >= raw) break;
  }
  std::vector<double> out;
  for (double t = std::floor(lo / step) * step; t <= hi + step * 1e-9; t += step) {
    out.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
  }
  if (out.back() < hi) out.push_back(out.back() + step);
  return out;
}

std::string svg_line_charts(const std::string& title, const std::vector<Panel>& panels) {
  const double width = kPanelW * static_cast<double>(std::max<size_t>(1, panels.size()));
  const double height = kPanelH + 30;
  std::string out = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} "
      "{1}\" font-family=\"sans-serif\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"{2}\" y=\"{1}\" dy=\"-8\" text-anchor=\"middle\" font-size=\"12\" "
      "fill=\"#555\">{3}</text>\n<g transform=\"translate(0,0)\">\n",
      width, height, width / 2, escape_xml(title));
  for (size_t i = 0; i < panels.size(); ++i) out += panel_svg(panels[i], kPanelW * static_cast<double>(i));
  return out + "</g>\n</svg>\n";
}

}  // namespace llmc::report
