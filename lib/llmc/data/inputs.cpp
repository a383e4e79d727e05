#include "llmc/data/inputs.h"

#include <map>

#include <fmt/format.h>

#include "llmc/util/error.h"

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

// Stacks the fields of the batch's rows into one tensor (int64 when `integral`, else float32),
// padding the last dimension of ragged 1-D sequences with `pad`. Ranks were checked when the
// file was read; other shapes must agree within the batch.
at::Tensor stack(const std::vector<const Field*>& fields, bool integral, int64_t pad,
                 const std::string& name, const SampleTable& table,
                 const std::vector<int64_t>& rows) {
  const size_t rank = fields.front()->shape.size();
  int64_t longest = 0;
  for (size_t i = 0; i < fields.size(); ++i) {
    const Field* f = fields[i];
    LLMC_ASSERT(f->shape.size() == rank, "ranks are checked by read_samples");
    if (rank == 1) {
      longest = std::max(longest, f->shape[0]);
    } else if (f->shape != fields.front()->shape) {
      throw InputError(table.location(rows[i]),
                       fmt::format("field \"{}\" has shape [{}] here but [{}] on line {}, in the "
                                   "same batch; only 1-D sequences are padded",
                                   name, fmt::join(f->shape, ", "),
                                   fmt::join(fields.front()->shape, ", "),
                                   table.lines[static_cast<size_t>(rows.front())]));
    }
  }
  const auto n = static_cast<int64_t>(fields.size());
  std::vector<int64_t> shape{n};
  if (rank == 1) {
    shape.push_back(longest);
  } else {
    shape.insert(shape.end(), fields.front()->shape.begin(), fields.front()->shape.end());
  }
  int64_t width = 1;
  for (size_t d = 1; d < shape.size(); ++d) width *= shape[d];
  std::vector<double> buffer(static_cast<size_t>(n * width), static_cast<double>(pad));
  for (int64_t i = 0; i < n; ++i) {
    const auto& v = fields[static_cast<size_t>(i)]->values;
    LLMC_ASSERT(static_cast<int64_t>(v.size()) <= width, "a field's values fill its shape");
    std::copy(v.begin(), v.end(), buffer.begin() + i * width);
  }
  at::Tensor out = at::from_blob(buffer.data(), shape, at::TensorOptions().dtype(at::kDouble));
  return out.to(integral ? at::kLong : at::kFloat);
}

}  // namespace

std::string Batch::row_location(int64_t row) const {
  if (source.empty() || row < 0 || row >= static_cast<int64_t>(lines.size())) return "";
  return fmt::format("{}:{}", source, lines[static_cast<size_t>(row)]);
}

Batch make_batch(const SampleTable& table, const std::vector<int64_t>& rows) {
  LLMC_ASSERT(!rows.empty(), "empty batch");
  Batch batch;
  batch.rows = static_cast<int64_t>(rows.size());
  batch.source = table.source;
  for (int64_t r : rows) batch.lines.push_back(table.lines[static_cast<size_t>(r)]);
  std::vector<const Field*> picked(rows.size());
  for (size_t c = 0; c < table.columns.size(); ++c) {
    for (size_t i = 0; i < rows.size(); ++i) picked[i] = &table.columns[c][static_cast<size_t>(rows[i])];
    batch.args.emplace_back(
        stack(picked, table.integral[c], table.pad_value, table.args[c], table, rows));
  }
  if (table.has_labels()) {
    for (size_t i = 0; i < rows.size(); ++i) picked[i] = &table.labels[static_cast<size_t>(rows[i])];
    at::Tensor l = stack(picked, false, 0, "labels", table, rows);
    batch.labels = picked.front()->shape.empty() ? l.to(at::kLong) : l.to(at::kFloat);
  }
  return batch;
}

InputSet make_batches(const SampleTable& table, int64_t batch_size) {
  InputSet set;
  set.source = table.source;
  for (int64_t start = 0; start < table.size(); start += batch_size) {
    std::vector<int64_t> rows;
    for (int64_t i = start; i < std::min(table.size(), start + batch_size); ++i) rows.push_back(i);
    set.batches.push_back(make_batch(table, rows));
  }
  return set;
}

InputSet load_jsonl(const recipe::DataSpec& spec, const std::vector<std::string>& forward_args,
                    recipe::TaskKind task) {
  return make_batches(read_samples(spec, forward_args, task), spec.batch_size);
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
