#include "llmc/data/samples.h"

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <functional>
#include <map>
#include <memory>

#include <fmt/format.h>

#include "llmc/data/tokenizer.h"
#include "llmc/util/error.h"
#include "llmc/util/excerpt.h"
#include "llmc/util/file_check.h"
#include "llmc/util/json.h"

namespace llmc::data {

namespace {

using Fail = std::function<void(const std::string&)>;

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

std::string join(const std::vector<std::string>& v) {
  return v.empty() ? "(none)" : fmt::format("{}", fmt::join(v, ", "));
}

// What a value of a column (or the labels) must be.
enum class ValueRule { any, token_id, zero_one, class_index };

// 2^63: the first double that no int64_t holds.
constexpr double kInt64Limit = 9223372036854775808.0;

// The value as written, for a message (only on failure: dumping every value would be slow).
std::string shown(const util::Json& j) { return util::excerpt(j.dump()); }

void check_value(const util::Json& j, ValueRule rule, const Fail& fail) {
  switch (rule) {
    case ValueRule::any:
      return;
    case ValueRule::token_id:
    case ValueRule::class_index: {
      if (j.is_int() && j.as_int() >= 0) return;
      const char* what = rule == ValueRule::token_id ? "token ids" : "single-label labels";
      const char* one = rule == ValueRule::token_id ? "token id" : "class index";
      if (j.is_bool()) fail(fmt::format("{} must be integers, got the boolean {}", what, shown(j)));
      if (j.is_double()) {
        const double v = j.as_double();
        fail(fmt::format("{} must be integers, got {}{}", what, shown(j),
                         v >= kInt64Limit || v < -kInt64Limit ? " (beyond the 64-bit integer range)"
                                                              : " (a float)"));
      }
      fail(fmt::format("{} {} is negative", one, shown(j)));
      return;
    }
    case ValueRule::zero_one:
      if (j.is_bool()) return;
      if ((j.is_int() && (j.as_int() == 0 || j.as_int() == 1)) ||
          (j.is_double() && (j.as_double() == 0.0 || j.as_double() == 1.0))) {
        return;
      }
      fail(fmt::format("values must be 0 or 1, got {}", shown(j)));
  }
}

// Appends the numbers of a (nested) list to `f`, recording each level's length in f.shape;
// `leaf_depth` is the depth of the numbers seen so far (-1: none yet).
void flatten(const util::Json& j, Field& f, size_t depth, int64_t& leaf_depth, ValueRule rule,
             const Fail& fail) {
  if (j.is_array()) {
    if (leaf_depth >= 0 && static_cast<size_t>(leaf_depth) <= depth) {
      fail("nested lists of different depths");
    }
    const auto& items = j.as_array();
    if (f.shape.size() <= depth) {
      f.shape.push_back(static_cast<int64_t>(items.size()));
    } else if (f.shape[depth] != static_cast<int64_t>(items.size())) {
      fail("nested lists of different lengths");
    }
    for (const auto& item : items) flatten(item, f, depth + 1, leaf_depth, rule, fail);
    return;
  }
  if (!j.is_number() && !j.is_bool()) {
    fail(fmt::format("expected a number or a list of numbers, got {}", shown(j)));
  }
  // A number where an earlier item of the same level was a list, or the reverse.
  if (f.shape.size() != depth || (leaf_depth >= 0 && static_cast<size_t>(leaf_depth) != depth)) {
    fail("nested lists of different depths");
  }
  leaf_depth = static_cast<int64_t>(depth);
  check_value(j, rule, fail);
  if (j.is_int()) {
    f.values.push_back(static_cast<double>(j.as_int()));
  } else if (j.is_double()) {
    f.values.push_back(j.as_double());
    f.integral = false;
  } else {
    f.values.push_back(j.as_bool() ? 1 : 0);
  }
}

// The field of a JSON value, its values checked by `rule`.
Field read_field(const util::Json& value, ValueRule rule, const Fail& fail) {
  Field f;
  int64_t leaf_depth = -1;
  flatten(value, f, 0, leaf_depth, rule, fail);
  // Every leaf at the same depth: the values fill the shape exactly. (An empty list at some
  // level, [[], []], holds no values and has a zero in its shape.)
  size_t numel = 1;
  for (int64_t d : f.shape) {
    numel = d == 0 ? 0 : std::min(numel * static_cast<size_t>(d), f.values.size() + 1);
  }
  if (numel != f.values.size()) fail("nested lists of different depths");
  return f;
}

ValueRule column_rule(ColumnKind kind) {
  switch (kind) {
    case ColumnKind::token_ids: return ValueRule::token_id;
    case ColumnKind::mask: return ValueRule::zero_one;
    case ColumnKind::values: return ValueRule::any;
  }
  return ValueRule::any;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  if (shape.size() == 1) return fmt::format("{} values", shape[0]);
  return fmt::format("shape [{}]", fmt::join(shape, ", "));
}

Field sequence_field(const std::vector<int>& ids) {
  Field f;
  f.shape = {static_cast<int64_t>(ids.size())};
  f.values.assign(ids.begin(), ids.end());
  return f;
}

// The column the other id and mask columns must match in shape: input_ids, else the first
// token-id column; -1 when there is none.
int64_t reference_ids_column(const SampleTable& t) {
  const auto named = std::find(t.args.begin(), t.args.end(), "input_ids");
  if (named != t.args.end()) return named - t.args.begin();
  const auto first = std::find(t.kinds.begin(), t.kinds.end(), ColumnKind::token_ids);
  return first == t.kinds.end() ? -1 : first - t.kinds.begin();
}

}  // namespace

ColumnKind column_kind(const std::string& forward_arg) {
  if (forward_arg == "input_ids" || ends_with(forward_arg, "_ids")) return ColumnKind::token_ids;
  if (ends_with(forward_arg, "attention_mask")) return ColumnKind::mask;
  return ColumnKind::values;
}

std::string SampleTable::location(int64_t row) const {
  return fmt::format("{}:{}", source, lines.at(static_cast<size_t>(row)));
}

SampleTable read_samples(const recipe::DataSpec& spec, const std::vector<std::string>& forward_args,
                         recipe::TaskKind task) {
  // Checked before opening: a FIFO would block the read forever.
  if (const auto problem = util::input_file_problem(spec.path)) {
    throw InputError(spec.path, "cannot read the data file: " + problem->message);
  }
  errno = 0;
  std::ifstream in(spec.path, std::ios::binary);
  if (!in) {
    throw InputError(spec.path,
                     "cannot read the data file: " + util::problem_from_errno(errno).message);
  }
  return parse_samples(in, spec, forward_args, task);
}

SampleTable parse_samples(std::istream& in, const recipe::DataSpec& spec,
                          const std::vector<std::string>& forward_args, recipe::TaskKind task) {
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
  if (tokenizer) table.tokenizer = spec.tokenizer;
  for (const auto& f : fields) {
    table.args.push_back(f.first);
    table.kinds.push_back(column_kind(f.first));
  }
  table.columns.resize(fields.size());
  table.integral.assign(fields.size(), true);
  const int64_t ids_column = reference_ids_column(table);
  const ValueRule label_rule = task == recipe::TaskKind::single_label  ? ValueRule::class_index
                               : task == recipe::TaskKind::multi_label ? ValueRule::zero_one
                                                                       : ValueRule::any;
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
    std::vector<Field> row(fields.size());
    for (size_t c = 0; c < fields.size(); ++c) {
      const std::string& name = fields[c].second;
      Field& f = row[c];
      if (auto t = tokenized.find(name); t != tokenized.end()) {
        f = t->second;
      } else {
        const util::Json* value = obj.find(name);
        if (value == nullptr) {
          fail(fmt::format("missing field \"{}\" (for forward argument \"{}\"){}", name,
                           fields[c].first,
                           tokenizer ? "; text gives the fields input_ids and attention_mask" : ""));
        }
        f = read_field(*value, column_rule(table.kinds[c]),
                       [&](const std::string& m) { fail(fmt::format("field \"{}\": {}", name, m)); });
      }
      if (!table.columns[c].empty() && table.columns[c].front().shape.size() != f.shape.size()) {
        fail(fmt::format("field \"{}\" has {} dimensions here but {} on line {}", name,
                         f.shape.size(), table.columns[c].front().shape.size(),
                         table.lines.front()));
      }
    }
    // Masks and other ids go with the token ids, one value per token.
    if (ids_column >= 0) {
      const Field& ids = row[static_cast<size_t>(ids_column)];
      for (size_t c = 0; c < fields.size(); ++c) {
        if (static_cast<int64_t>(c) == ids_column || table.kinds[c] == ColumnKind::values) continue;
        if (row[c].shape != ids.shape) {
          fail(fmt::format("field \"{}\" has {} but \"{}\" has {}; it needs one value per token",
                           fields[c].second, shape_text(row[c].shape),
                           fields[static_cast<size_t>(ids_column)].second, shape_text(ids.shape)));
        }
      }
    }
    for (size_t c = 0; c < fields.size(); ++c) {
      Field& f = row[c];
      if (spec.max_length > 0 && f.shape.size() == 1 && f.shape[0] > spec.max_length) {
        f.values.resize(static_cast<size_t>(spec.max_length));
        f.shape[0] = spec.max_length;
      }
      table.integral[c] = table.integral[c] && f.integral;
      table.columns[c].push_back(std::move(f));
    }
    if (!spec.labels.empty()) {
      const util::Json* value = obj.find(spec.labels);
      if (value == nullptr) fail(fmt::format("missing label field \"{}\"", spec.labels));
      Field f = read_field(*value, label_rule, [&](const std::string& m) {
        fail(fmt::format("label field \"{}\": {}", spec.labels, m));
      });
      if (task == recipe::TaskKind::single_label && !f.shape.empty()) {
        fail(fmt::format("label field \"{}\": single-label labels are one class index per "
                         "sample, got a list",
                         spec.labels));
      }
      if (task == recipe::TaskKind::multi_label && f.shape.size() != 1) {
        fail(fmt::format("label field \"{}\": multi-label labels are a list of 0/1 per sample{}",
                         spec.labels, f.shape.empty() ? ", got a single number" : ""));
      }
      if (!table.labels.empty() && table.labels.front().shape != f.shape) {
        fail(fmt::format("label field \"{}\" has {} here but {} on line {}", spec.labels,
                         f.shape.empty() ? "one value" : shape_text(f.shape),
                         table.labels.front().shape.empty() ? "one value"
                                                            : shape_text(table.labels.front().shape),
                         table.lines.front()));
      }
      table.labels.push_back(std::move(f));
    }
    table.lines.push_back(line_no);
    if (spec.max_samples > 0 && table.size() >= spec.max_samples) break;
  }
  if (table.size() == 0) throw InputError(spec.path, "the data file has no samples");
  return table;
}

void check_token_ids(const SampleTable& table, int64_t vocab_rows, const std::string& model_path) {
  const auto it = std::find(table.args.begin(), table.args.end(), "input_ids");
  if (it == table.args.end()) return;
  const auto& column = table.columns[static_cast<size_t>(it - table.args.begin())];
  for (int64_t row = 0; row < table.size(); ++row) {
    const auto& values = column[static_cast<size_t>(row)].values;
    const auto worst = std::max_element(values.begin(), values.end());
    if (worst == values.end() || *worst < static_cast<double>(vocab_rows)) continue;
    const bool from_tokenizer = !table.tokenizer.empty();
    throw InputError(
        table.location(row),
        fmt::format("field \"input_ids\": token id {} is beyond {}'s embedding table ({} rows, "
                    "ids 0-{}): the {} does not match the model's vocabulary",
                    static_cast<int64_t>(*worst), model_path, vocab_rows, vocab_rows - 1,
                    from_tokenizer ? "tokenizer " + table.tokenizer : std::string("data")),
        from_tokenizer ? "use the tokenizer the model was built for (vocabulary size = embedding "
                         "rows)"
                       : "token ids must come from the model's own tokenizer");
  }
}

void check_label_classes(const SampleTable& table, recipe::TaskKind task, int64_t classes,
                         const std::string& model_path) {
  if (!table.has_labels()) return;
  for (int64_t row = 0; row < table.size(); ++row) {
    const Field& f = table.labels[static_cast<size_t>(row)];
    if (task == recipe::TaskKind::single_label && f.shape.empty() &&
        f.values.front() >= static_cast<double>(classes)) {
      throw InputError(table.location(row),
                       fmt::format("label {} does not fit {}'s {} classes (0-{})",
                                   static_cast<int64_t>(f.values.front()), model_path, classes,
                                   classes - 1));
    }
    if (task == recipe::TaskKind::multi_label && f.shape.size() == 1 && f.shape[0] != classes) {
      throw InputError(table.location(row),
                       fmt::format("the multi-hot labels have {} values but {} has {} classes",
                                   f.shape[0], model_path, classes),
                       "give a multi-hot list as long as the classifier head");
    }
  }
}

}  // namespace llmc::data
