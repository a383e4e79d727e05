#include "llmc/onnx/shapes.h"

#include <algorithm>

#include <fmt/format.h>

#include "llmc/util/error.h"

namespace llmc::onnx {

namespace {

// `t` with axis `axis` made `size` long: cut, or repeated and cut (token ids and masks stay
// valid values).
at::Tensor resize_axis(const at::Tensor& t, int64_t axis, int64_t size) {
  if (t.size(axis) >= size) return t.narrow(axis, 0, size).contiguous();
  const int64_t reps = (size + t.size(axis) - 1) / t.size(axis);
  std::vector<at::Tensor> parts(static_cast<size_t>(reps), t);
  return at::cat(parts, axis).narrow(axis, 0, size).contiguous();
}

}  // namespace

std::string describe(const std::vector<NamedTensor>& inputs) {
  std::string s;
  for (const auto& in : inputs) {
    s += fmt::format("{}{}[{}]", s.empty() ? "" : " ", in.name, fmt::join(in.tensor.sizes(), ","));
  }
  return s;
}

GivenInputs given_inputs(const data::Batch& first, const std::vector<std::string>& arg_names,
                         const ExportOptions& o, const std::string& model_path) {
  GivenInputs given;
  for (size_t i = 0; i < first.args.size() && i < arg_names.size(); ++i) {
    if (first.args[i].isNone()) continue;
    if (!first.args[i].isTensor()) {
      throw InputError(model_path, fmt::format("forward argument `{}` is not a tensor; only "
                                               "tensor inputs can be exported",
                                               arg_names[i]));
    }
    given.args.push_back(i);
    given.names.push_back(arg_names[i]);
  }
  for (const auto& [name, axes] : o.dynamic_axes) {
    const bool by_arg =
        std::find(given.names.begin(), given.names.end(), name) != given.names.end();
    const bool by_input = std::find(o.input_names.begin(), o.input_names.end(), name) !=
                          o.input_names.end();
    if (!by_arg && !by_input) {
      throw RecipeError({{o.origin.location, "export_onnx.dynamic_axes." + name,
                          fmt::format("no input is called \"{}\" (the model's inputs: {})", name,
                                      fmt::join(given.names, ", "))}});
    }
  }
  if (o.input_names.size() > given.args.size()) {
    throw RecipeError({{o.origin.location, "export_onnx.input_names",
                        fmt::format("{} names for {} inputs ({})", o.input_names.size(),
                                    given.args.size(), fmt::join(given.names, ", "))}});
  }
  return given;
}

ShapePlan::ShapePlan(const data::Batch& first, GivenInputs given, const ExportOptions& o)
    : first_(first), given_(std::move(given)), o_(o) {
  for (size_t i = 0; i < given_.args.size(); ++i) {
    const std::string& arg = given_.names[i];
    onnx_names_.push_back(i < o.input_names.size() ? o.input_names[i] : arg);
    auto names = axis_names(o, arg);
    if (names.empty()) names = axis_names(o, onnx_names_[i]);
    const auto& t = first.args[given_.args[i]].toTensor();
    if (static_cast<int64_t>(names.size()) > t.dim()) {
      throw RecipeError({{o.origin.location, "export_onnx.dynamic_axes." + arg,
                          fmt::format("{} axes named, but `{}` has {} ([{}])", names.size(), arg,
                                      t.dim(), fmt::join(t.sizes(), ","))}});
    }
    for (size_t d = 0; d < names.size(); ++d) {
      if (names[d].empty()) continue;
      axes_.push_back({given_.args[i], static_cast<int64_t>(d), names[d]});
      const int64_t s = t.size(static_cast<int64_t>(d));
      if (size_a_.count(names[d]) && size_a_[names[d]] != s) {
        throw RecipeError({{o.origin.location, "export_onnx.dynamic_axes",
                            fmt::format("axis \"{}\" has size {} in one input and {} in another",
                                        names[d], size_a_[names[d]], s)}});
      }
      size_a_[names[d]] = s;
    }
  }
  const int64_t steps[] = {3, 5, 7, 11, 13, 17, 19, 23};
  size_t k = 0;
  for (const auto& [name, s] : size_a_) {
    const int64_t step = steps[k++ % 8];
    size_b_[name] = s > step + 1 ? s - step : s + step;
  }
}

Shape ShapePlan::make(const std::string& label, const data::Batch& base,
                      const std::map<std::string, int64_t>& sizes, bool user_given) const {
  Shape s;
  s.label = label;
  s.user_given = user_given;
  s.batch = base;
  for (const auto& ax : axes_) {
    auto it = sizes.find(ax.name);
    if (it == sizes.end()) continue;
    auto& v = s.batch.args[ax.arg];
    v = resize_axis(v.toTensor(), ax.axis, it->second);
  }
  if (s.batch.labels.defined()) {
    // Labels follow a resized batch axis when they share its size.
    for (const auto& ax : axes_) {
      const auto& t = base.args[ax.arg].toTensor();
      if (ax.axis == 0 && sizes.count(ax.name) && base.labels.dim() > 0 &&
          base.labels.size(0) == t.size(0)) {
        s.batch.labels = resize_axis(base.labels, 0, sizes.at(ax.name));
        s.batch.rows = sizes.at(ax.name);
        break;
      }
    }
  }
  for (size_t i = 0; i < given_.args.size(); ++i) {
    s.inputs.push_back({onnx_names_[i], s.batch.args[given_.args[i]].toTensor()});
  }
  for (const auto& ax : axes_) {
    if (ax.axis == 0 && sizes.count(ax.name)) s.batch.rows = sizes.at(ax.name);
  }
  return s;
}

Shape ShapePlan::run_a() const { return make("recipe inputs", first_, {}, true); }

Shape ShapePlan::run_b() const { return make("dynamic axes resized", first_, size_b_, false); }

std::vector<Shape> ShapePlan::verification(const std::vector<data::Batch>& batches) const {
  std::vector<Shape> shapes;
  for (size_t bi = 0; bi < batches.size(); ++bi) {
    shapes.push_back(make(bi == 0 ? "recipe inputs" : fmt::format("recipe inputs, batch {}", bi + 1),
                          batches[bi], {}, true));
  }
  shapes.push_back(run_b());
  size_t extra = 0;
  for (const auto& [name, list] : o_.verify.sizes) extra = std::max(extra, list.size());
  for (size_t i = 0; i < extra; ++i) {
    std::map<std::string, int64_t> sizes;
    for (const auto& [name, list] : o_.verify.sizes) sizes[name] = list[i % list.size()];
    shapes.push_back(make(fmt::format("verify.sizes[{}]", i), first_, sizes, true));
  }
  if (extra == 0 && !size_a_.empty()) {
    std::map<std::string, int64_t> sizes;
    for (const auto& [name, s] : size_a_) sizes[name] = s + 1;
    shapes.push_back(make("dynamic axes + 1", first_, sizes, false));
  }
  return shapes;
}

}  // namespace llmc::onnx
