#include "llmc/data/inputs.h"

#include <fstream>
#include <map>

#include <fmt/format.h>

#include "llmc/data/tokenizer.h"
#include "llmc/util/error.h"
#include "llmc/util/file_check.h"
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
at::Tensor stack(const std::vector<const Field*>& fields, int64_t pad, const std::string& name,
                 const std::string& where) {
  bool integral = true;
  size_t rank = fields.front()->shape.size();
  int64_t longest = 0;
  for (const Field* f : fields) {
    integral = integral && f->integral;
    if (f->shape.size() != rank) {
      throw InputError(where, fmt::format("field \"{}\" has a different rank in different lines",
                                          name));
    }
    if (rank == 1) longest = std::max(longest, f->shape[0]);
  }
  const auto n = static_cast<int64_t>(fields.size());
  std::vector<int64_t> shape{n};
  if (rank == 1) {
    shape.push_back(longest);
  } else {
    for (const Field* f : fields) {
      if (f->shape != fields.front()->shape) {
        throw InputError(where, fmt::format("field \"{}\" has different shapes in one batch; only "
                                            "1-D sequences are padded",
                                            name));
      }
    }
    shape.insert(shape.end(), fields.front()->shape.begin(), fields.front()->shape.end());
  }
  int64_t width = 1;
  for (size_t d = 1; d < shape.size(); ++d) width *= shape[d];
  std::vector<double> buffer(static_cast<size_t>(n * width), static_cast<double>(pad));
  for (int64_t i = 0; i < n; ++i) {
    const auto& v = fields[static_cast<size_t>(i)]->values;
    std::copy(v.begin(), v.end(), buffer.begin() + i * width);
  }
  at::Tensor out = at::from_blob(buffer.data(), shape, at::TensorOptions().dtype(at::kDouble));
  return out.to(integral ? at::kLong : at::kFloat);
}

Field sequence_field(const std::vector<int>& ids) {
  Field f;
  f.shape = {static_cast<int64_t>(ids.size())};
  f.values.assign(ids.begin(), ids.end());
  return f;
}

}  // namespace

double SampleTable::max_value(const std::string& arg) const {
  auto it = std::find(args.begin(), args.end(), arg);
  if (it == args.end()) return -1;
  double best = -1;
  for (const auto& f : columns[static_cast<size_t>(it - args.begin())]) {
    if (!f.integral) return -1;
    for (double v : f.values) best = std::max(best, v);
  }
  return best;
}

SampleTable read_samples(const recipe::DataSpec& spec, const std::vector<std::string>& forward_args) {
  // Checked before opening: a FIFO would block the read forever.
  if (const auto problem = util::input_file_problem(spec.path)) {
    throw InputError(spec.path, "cannot read the data file: " + problem->message);
  }
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
  std::unique_ptr<Tokenizer> tokenizer;
  if (!spec.text.empty()) tokenizer = std::make_unique<Tokenizer>(spec.tokenizer);

  SampleTable table;
  table.source = spec.path;
  table.pad_value = spec.pad_value;
  for (const auto& f : fields) table.args.push_back(f.first);
  table.columns.resize(fields.size());
  std::string line;
  int64_t line_no = 0;
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
    std::map<std::string, Field> tokenized;
    if (tokenizer) {
      const util::Json* text = obj.find(spec.text);
      if (text == nullptr) fail(fmt::format("missing text field \"{}\"", spec.text));
      if (!text->is_string()) fail(fmt::format("text field \"{}\" is not a string", spec.text));
      auto ids = tokenizer->encode(text->as_string(), spec.add_bos);
      if (ids.empty()) fail(fmt::format("text field \"{}\" has no tokens", spec.text));
      tokenized["input_ids"] = sequence_field(ids);
      tokenized["attention_mask"] = sequence_field(std::vector<int>(ids.size(), 1));
    }
    for (size_t c = 0; c < fields.size(); ++c) {
      Field f;
      if (auto t = tokenized.find(fields[c].second); t != tokenized.end()) {
        f = t->second;
      } else {
        const util::Json* value = obj.find(fields[c].second);
        if (value == nullptr) {
          fail(fmt::format("missing field \"{}\" (for forward argument \"{}\"){}", fields[c].second,
                           fields[c].first,
                           tokenizer ? "; text gives the fields input_ids and attention_mask" : ""));
        }
        flatten(*value, f, 0, [&](const std::string& m) {
          fail(fmt::format("field \"{}\": {}", fields[c].second, m));
        });
      }
      if (spec.max_length > 0 && f.shape.size() == 1 && f.shape[0] > spec.max_length) {
        f.values.resize(static_cast<size_t>(spec.max_length));
        f.shape[0] = spec.max_length;
      }
      table.columns[c].push_back(std::move(f));
    }
    if (!spec.labels.empty()) {
      const util::Json* value = obj.find(spec.labels);
      if (value == nullptr) fail(fmt::format("missing label field \"{}\"", spec.labels));
      Field f;
      flatten(*value, f, 0, [&](const std::string& m) {
        fail(fmt::format("label field \"{}\": {}", spec.labels, m));
      });
      if (!table.labels.empty() && table.labels.front().shape != f.shape) {
        fail(fmt::format("label field \"{}\" has a different shape than on earlier lines",
                         spec.labels));
      }
      table.labels.push_back(std::move(f));
    }
    table.lines.push_back(line_no);
    if (spec.max_samples > 0 && table.size() >= spec.max_samples) break;
  }
  if (table.size() == 0) throw InputError(spec.path, "the data file has no samples");
  return table;
}

Batch make_batch(const SampleTable& table, const std::vector<int64_t>& rows) {
  LLMC_ASSERT(!rows.empty(), "empty batch");
  Batch batch;
  batch.rows = static_cast<int64_t>(rows.size());
  const std::string where = fmt::format("{}:{}", table.source, table.lines[static_cast<size_t>(rows.front())]);
  std::vector<const Field*> picked(rows.size());
  for (size_t c = 0; c < table.columns.size(); ++c) {
    for (size_t i = 0; i < rows.size(); ++i) picked[i] = &table.columns[c][static_cast<size_t>(rows[i])];
    batch.args.emplace_back(stack(picked, table.pad_value, table.args[c], where));
  }
  if (table.has_labels()) {
    for (size_t i = 0; i < rows.size(); ++i) picked[i] = &table.labels[static_cast<size_t>(rows[i])];
    at::Tensor l = stack(picked, 0, "labels", where);
    batch.labels = picked.front()->shape.empty() ? l.to(at::kLong) : l.to(at::kFloat);
  }
  return batch;
}

InputSet load_jsonl(const recipe::DataSpec& spec, const std::vector<std::string>& forward_args) {
  const SampleTable table = read_samples(spec, forward_args);
  InputSet set;
  set.source = spec.path;
  for (int64_t start = 0; start < table.size(); start += spec.batch_size) {
    std::vector<int64_t> rows;
    for (int64_t i = start; i < std::min(table.size(), start + spec.batch_size); ++i) rows.push_back(i);
    set.batches.push_back(make_batch(table, rows));
  }
  return set;
}

at::Tensor language_model_labels(const at::Tensor& input_ids, const at::Tensor& attention_mask) {
  if (!attention_mask.defined()) return input_ids.clone();
  return input_ids.masked_fill(attention_mask.eq(0), kIgnoreIndex);
}

void attach_language_model_labels(Batch& batch, const std::vector<std::string>& forward_args) {
  at::Tensor ids, mask;
  for (size_t i = 0; i < forward_args.size() && i < batch.args.size(); ++i) {
    if (forward_args[i] == "input_ids") ids = batch.args[i].toTensor();
    if (forward_args[i] == "attention_mask") mask = batch.args[i].toTensor();
  }
  if (!ids.defined() && !batch.args.empty() && batch.args.front().isTensor()) {
    ids = batch.args.front().toTensor();  // a causal LM's first argument is its token ids
  }
  LLMC_ASSERT(ids.defined(), "no input ids");
  batch.labels = language_model_labels(ids, mask);
}

}  // namespace llmc::data
