#include "llmc/data/inputs.h"

#include <fstream>
#include <map>

#include <fmt/format.h>

#include "llmc/util/error.h"
#include "llmc/util/json.h"

namespace llmc::data {

using recipe::DType;

int64_t InputSet::rows() const {
  int64_t n = 0;
  for (const auto& b : batches) n += b.rows;
  return n;
}

namespace {

at::ScalarType to_scalar_type(DType d) {
  switch (d) {
    case DType::float32: return at::kFloat;
    case DType::float64: return at::kDouble;
    case DType::float16: return at::kHalf;
    case DType::bfloat16: return at::kBFloat16;
    case DType::int64: return at::kLong;
    case DType::int32: return at::kInt;
    case DType::uint8: return at::kByte;
    case DType::int8: return at::kChar;
    case DType::boolean: return at::kBool;
  }
  return at::kFloat;
}

at::Tensor make_tensor(const recipe::InputSpec& spec, at::Generator& gen) {
  const auto type = to_scalar_type(spec.dtype);
  const auto options = at::TensorOptions().dtype(type);
  if (spec.fill) return at::full(spec.shape, *spec.fill, options);
  if (spec.dtype == DType::boolean) {
    return at::randint(0, 2, spec.shape, gen, at::TensorOptions().dtype(at::kLong)).to(at::kBool);
  }
  if (recipe::is_integral(spec.dtype)) {
    const auto lo = static_cast<int64_t>(std::ceil(spec.range[0]));
    const auto hi = static_cast<int64_t>(std::ceil(spec.range[1]));
    return at::randint(lo, hi, spec.shape, gen, at::TensorOptions().dtype(at::kLong)).to(type);
  }
  at::Tensor t = spec.range.empty()
                     ? at::randn(spec.shape, gen, at::TensorOptions().dtype(at::kFloat))
                     : at::rand(spec.shape, gen, at::TensorOptions().dtype(at::kFloat)) *
                               (spec.range[1] - spec.range[0]) +
                           spec.range[0];
  return t.to(type);
}

std::string join(const std::vector<std::string>& v) {
  return v.empty() ? "(none)" : fmt::format("{}", fmt::join(v, ", "));
}

}  // namespace

InputSet make_example_inputs(const std::vector<recipe::InputSpec>& specs,
                             const std::vector<std::string>& forward_args, int64_t seed,
                             const recipe::Origin& where) {
  std::vector<RecipeIssue> issues;
  std::map<std::string, const recipe::InputSpec*> by_name;
  for (const auto& spec : specs) {
    if (std::find(forward_args.begin(), forward_args.end(), spec.name) == forward_args.end()) {
      issues.push_back(spec.origin.issue(fmt::format(
          "forward has no argument \"{}\" (its arguments: {})", spec.name, join(forward_args))));
    } else if (!by_name.emplace(spec.name, &spec).second) {
      issues.push_back(spec.origin.issue(fmt::format("\"{}\" is given twice", spec.name)));
    }
  }
  // Arguments must be given in order; a trailing run of arguments may be left to their defaults.
  size_t given = 0;
  while (given < forward_args.size() && by_name.count(forward_args[given])) ++given;
  for (size_t i = given; i < forward_args.size(); ++i) {
    if (by_name.count(forward_args[i])) {
      issues.push_back({where.location, "example_inputs",
                        fmt::format("no input for forward argument \"{}\", which comes before "
                                    "\"{}\"",
                                    forward_args[given], forward_args[i])});
      break;
    }
  }
  if (!issues.empty()) throw RecipeError(issues);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(seed));
  Batch batch;
  for (size_t i = 0; i < given; ++i) {
    const auto& spec = *by_name.at(forward_args[i]);
    batch.args.emplace_back(make_tensor(spec, gen));
    if (batch.rows == 0 && !spec.shape.empty()) batch.rows = spec.shape[0];
  }
  if (batch.rows == 0) batch.rows = 1;
  InputSet set;
  set.source = "example_inputs";
  set.batches.push_back(std::move(batch));
  return set;
}

namespace {

// One sample's field as a flat list of numbers plus its shape.
struct Field {
  std::vector<double> values;
  std::vector<int64_t> shape;
  bool integral = true;
};

void flatten(const util::Json& j, Field& f, size_t depth, const std::function<void(std::string)>& fail) {
  if (j.is_array()) {
    const auto& items = j.as_array();
    if (f.shape.size() <= depth) {
      f.shape.push_back(static_cast<int64_t>(items.size()));
    } else if (f.shape[depth] != static_cast<int64_t>(items.size())) {
      fail("nested lists of different lengths");
    }
    for (const auto& item : items) flatten(item, f, depth + 1, fail);
  } else if (j.is_int()) {
    f.values.push_back(static_cast<double>(j.as_int()));
  } else if (j.is_double()) {
    f.values.push_back(j.as_double());
    f.integral = false;
  } else if (j.is_bool()) {
    f.values.push_back(j.as_bool() ? 1 : 0);
  } else {
    fail(fmt::format("expected a number or a list of numbers, got {}", j.dump()));
  }
}

// Stacks per-sample fields into a batch tensor, padding the last dimension of ragged 1-D
// sequences with `pad`.
at::Tensor stack(const std::vector<Field>& fields, int64_t pad, const std::string& name,
                 const std::string& where) {
  bool integral = true;
  size_t rank = fields.front().shape.size();
  int64_t longest = 0;
  for (const auto& f : fields) {
    integral = integral && f.integral;
    if (f.shape.size() != rank) {
      throw InputError(where, fmt::format("field \"{}\" has a different rank in different lines",
                                          name));
    }
    if (rank == 1) longest = std::max(longest, f.shape[0]);
  }
  const auto n = static_cast<int64_t>(fields.size());
  std::vector<int64_t> shape{n};
  if (rank == 1) {
    shape.push_back(longest);
  } else {
    for (const auto& f : fields) {
      if (f.shape != fields.front().shape) {
        throw InputError(where, fmt::format("field \"{}\" has different shapes in one batch; only "
                                            "1-D sequences are padded",
                                            name));
      }
    }
    shape.insert(shape.end(), fields.front().shape.begin(), fields.front().shape.end());
  }
  at::Tensor out = at::full(shape, static_cast<double>(pad), at::TensorOptions().dtype(at::kDouble));
  auto flat = out.view({n, -1});
  for (int64_t i = 0; i < n; ++i) {
    const auto& v = fields[static_cast<size_t>(i)].values;
    auto row = flat[i];
    for (size_t k = 0; k < v.size(); ++k) row[static_cast<int64_t>(k)] = v[k];
  }
  return out.to(integral ? at::kLong : at::kFloat);
}

}  // namespace

InputSet load_jsonl(const recipe::DataSpec& spec, const std::vector<std::string>& forward_args) {
  std::ifstream in(spec.path);
  if (!in) throw InputError(spec.path, "cannot read the data file");
  // forward argument -> field name
  std::vector<std::pair<std::string, std::string>> fields;
  for (const auto& arg : forward_args) {
    auto it = spec.inputs.find(arg);
    fields.emplace_back(arg, it == spec.inputs.end() ? arg : it->second);
  }
  for (const auto& [arg, field] : spec.inputs) {
    if (std::find(forward_args.begin(), forward_args.end(), arg) == forward_args.end()) {
      throw RecipeError({spec.origin.issue(fmt::format(
          "inputs: forward has no argument \"{}\" (its arguments: {})", arg, join(forward_args)))});
    }
  }
  if (fields.empty()) throw InputError(spec.path, "the model's forward takes no arguments to feed");
  InputSet set;
  set.source = spec.path;
  std::vector<std::vector<Field>> columns(fields.size());
  std::vector<Field> labels;
  auto flush = [&]() {
    if (columns.front().empty()) return;
    Batch batch;
    batch.rows = static_cast<int64_t>(columns.front().size());
    for (size_t c = 0; c < fields.size(); ++c) {
      batch.args.emplace_back(stack(columns[c], spec.pad_value, fields[c].second, spec.path));
      columns[c].clear();
    }
    if (!labels.empty()) {
      at::Tensor l = stack(labels, 0, spec.labels, spec.path);
      batch.labels = labels.front().shape.empty() ? l.to(at::kLong) : l.to(at::kFloat);
      labels.clear();
    }
    set.batches.push_back(std::move(batch));
  };
  std::string line;
  int64_t line_no = 0;
  int64_t samples = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = fmt::format("{}:{}", spec.path, line_no);
    util::Json obj;
    try {
      obj = util::parse_json(line);
    } catch (const util::JsonParseError& e) {
      throw InputError(fmt::format("{}:{}", where, e.column()), "malformed JSON: " + e.message());
    }
    if (!obj.is_object()) throw InputError(where, "expected a JSON object on each line");
    auto fail = [&](const std::string& msg) { throw InputError(where, msg); };
    for (size_t c = 0; c < fields.size(); ++c) {
      const util::Json* value = obj.find(fields[c].second);
      if (value == nullptr) {
        fail(fmt::format("missing field \"{}\" (for forward argument \"{}\")", fields[c].second,
                         fields[c].first));
      }
      Field f;
      flatten(*value, f, 0, [&](const std::string& m) {
        fail(fmt::format("field \"{}\": {}", fields[c].second, m));
      });
      columns[c].push_back(std::move(f));
    }
    if (!spec.labels.empty()) {
      const util::Json* value = obj.find(spec.labels);
      if (value == nullptr) fail(fmt::format("missing label field \"{}\"", spec.labels));
      Field f;
      flatten(*value, f, 0, [&](const std::string& m) {
        fail(fmt::format("label field \"{}\": {}", spec.labels, m));
      });
      if (!labels.empty() && labels.front().shape != f.shape) {
        fail(fmt::format("label field \"{}\" has a different shape than on earlier lines",
                         spec.labels));
      }
      labels.push_back(std::move(f));
    }
    ++samples;
    if (static_cast<int64_t>(columns.front().size()) == spec.batch_size) flush();
    if (spec.max_samples > 0 && samples >= spec.max_samples) break;
  }
  if (!columns.empty()) flush();
  if (set.batches.empty()) throw InputError(spec.path, "the data file has no samples");
  return set;
}

}  // namespace llmc::data
