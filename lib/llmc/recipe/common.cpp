#include "llmc/recipe/common.h"

#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace llmc::recipe {

const std::vector<std::pair<std::string, DType>>& dtype_table() {
  static const std::vector<std::pair<std::string, DType>> table = {
      {"float32", DType::float32}, {"float64", DType::float64}, {"float16", DType::float16},
      {"bfloat16", DType::bfloat16}, {"int64", DType::int64},   {"int32", DType::int32},
      {"uint8", DType::uint8},     {"int8", DType::int8},       {"bool", DType::boolean}};
  return table;
}

std::string dtype_name(DType dtype) {
  for (const auto& [name, value] : dtype_table()) {
    if (value == dtype) return name;
  }
  return "?";
}

bool is_integral(DType dtype) {
  return dtype == DType::int64 || dtype == DType::int32 || dtype == DType::uint8 ||
         dtype == DType::int8 || dtype == DType::boolean;
}

int64_t dtype_bytes(DType dtype) {
  switch (dtype) {
    case DType::float64:
    case DType::int64: return 8;
    case DType::float32:
    case DType::int32: return 4;
    case DType::float16:
    case DType::bfloat16: return 2;
    case DType::uint8:
    case DType::int8:
    case DType::boolean: return 1;
  }
  return 8;
}

namespace {

constexpr int64_t kMaxInt = std::numeric_limits<int64_t>::max();
constexpr double kInf = std::numeric_limits<double>::infinity();

// The values an integer dtype holds, as the bounds of a range [lo, hi) (hi one past the
// largest). int64 is limited to the integers a recipe number (a double) holds exactly.
std::pair<double, double> integer_bounds(DType dtype) {
  switch (dtype) {
    case DType::int64: return {-9007199254740992.0, 9007199254740992.0};  // +-2^53
    case DType::int32: return {-2147483648.0, 2147483648.0};
    case DType::int8: return {-128, 128};
    case DType::uint8: return {0, 256};
    default: return {0, 2};  // bool
  }
}

// The largest finite value of a floating dtype.
double float_max(DType dtype) {
  switch (dtype) {
    case DType::float16: return 65504.0;
    case DType::bfloat16: return 3.3895313892515355e38;
    case DType::float32: return static_cast<double>(std::numeric_limits<float>::max());
    default: return std::numeric_limits<double>::max();
  }
}

void check_shape(const InputSpec& in, Context& ctx) {
  if (in.shape.size() > kMaxExampleInputRank) {
    ctx.error(in.shape_origin, fmt::format("{} dimensions; an example input has at most {}",
                                           in.shape.size(), kMaxExampleInputRank));
    return;
  }
  // Counted in double: [1048576] x 16 overflows int64.
  double elements = 1;
  for (int64_t d : in.shape) elements *= static_cast<double>(d);
  const double bytes = elements * static_cast<double>(dtype_bytes(in.dtype));
  if (bytes > static_cast<double>(kMaxExampleInputBytes)) {
    ctx.error(in.shape_origin,
              fmt::format("[{}] of {} is {:.4g} elements, {:.4g} GiB; an example input may hold "
                          "at most {} GiB (use a smaller batch or sequence, or data: for real "
                          "samples)",
                          fmt::join(in.shape, ", "), dtype_name(in.dtype), elements,
                          bytes / static_cast<double>(int64_t{1} << 30),
                          kMaxExampleInputBytes >> 30));
  }
}

void check_values(const InputSpec& in, Context& ctx) {
  const bool integral = is_integral(in.dtype);
  if (integral && in.range.size() == 2 && in.dtype != DType::boolean) {
    const auto [lo, hi] = integer_bounds(in.dtype);
    if (in.range[0] < lo || in.range[1] > hi) {
      ctx.error(in.range_origin,
                fmt::format("[{}, {}) does not fit {}: its values must lie in [{}, {}]",
                            in.range[0], in.range[1], dtype_name(in.dtype), lo, hi));
    } else if (!(std::ceil(in.range[0]) < std::ceil(in.range[1]))) {
      ctx.error(in.range_origin, fmt::format("[{}, {}) holds no integer for {}", in.range[0],
                                             in.range[1], dtype_name(in.dtype)));
    }
  }
  if (!in.fill) return;
  const double v = *in.fill;
  if (integral) {
    const auto [lo, hi] = integer_bounds(in.dtype);
    if (!std::isfinite(v) || v != std::floor(v) || v < lo || v >= hi) {
      ctx.error(in.fill_origin,
                fmt::format("{} is not a value of {}: expected an integer in [{}, {}]", v,
                            dtype_name(in.dtype), lo, hi - 1));
    }
  } else if (std::isfinite(v) && std::fabs(v) > float_max(in.dtype)) {
    ctx.error(in.fill_origin, fmt::format("{} overflows {} (largest finite value {})", v,
                                          dtype_name(in.dtype), float_max(in.dtype)));
  }
}

Section<InputSpec> input_spec_schema() {
  Section<InputSpec> s;
  s.text("name", &InputSpec::name, "forward argument this tensor is passed as").required();
  s.integers("shape", &InputSpec::shape, 0, 1 << 20,
             "tensor shape, e.g. [16, 128]; at most 16 dimensions and 1 GiB")
      .required()
      .value_origin(&InputSpec::shape_origin);
  s.choice("dtype", &InputSpec::dtype, dtype_table(), "element type");
  s.numbers("range", &InputSpec::range,
            "[lo, hi): values drawn uniformly (integers for integer dtypes, e.g. token ids in "
            "[0, vocab), within the dtype's values; int64 within +-2^53); unset: standard "
            "normal for floats")
      .value_origin(&InputSpec::range_origin);
  s.number("fill", &InputSpec::fill, -kInf, kInf,
           "a constant value instead of random (e.g. 1 for an attention mask); an integer of "
           "the dtype for integer dtypes")
      .value_origin(&InputSpec::fill_origin);
  s.origin(&InputSpec::origin);
  s.check([](const InputSpec& in, const Origin& where, Context& ctx) {
    if (!in.range.empty() && in.range.size() != 2) {
      ctx.error(in.range_origin, "range must have two numbers [lo, hi)");
    } else if (in.range.size() == 2 && !(in.range[0] < in.range[1])) {
      ctx.error(in.range_origin, "range must have lo < hi");
    }
    if (in.fill && !in.range.empty()) ctx.error(where, "give range or fill, not both");
    if (is_integral(in.dtype) && in.dtype != DType::boolean && !in.fill && in.range.empty()) {
      ctx.error(where, "an integer input needs range: [lo, hi) (e.g. [0, vocab_size)) or fill");
    }
    check_shape(in, ctx);
    check_values(in, ctx);
  });
  return s;
}

Section<TaskSpec> task_schema() {
  Section<TaskSpec> s;
  s.choice("type", &TaskSpec::type,
           {{"none", TaskKind::none},
            {"single-label", TaskKind::single_label},
            {"multi-label", TaskKind::multi_label},
            {"language-model", TaskKind::language_model}},
           "task of the model's logits, for the task metric (accuracy and macro-F1 for "
           "single-label; samples-average Jaccard, micro/macro-F1 and exact match for "
           "multi-label; perplexity for a causal language model, whose logits [batch, "
           "sequence, vocab] predict the next input id, masked by the attention mask)");
  s.number("threshold", &TaskSpec::threshold, 0, 1,
           "multi-label: a label is predicted when sigmoid(logit) >= threshold", true, true);
  return s;
}

Section<BenchSpec> bench_schema() {
  Section<BenchSpec> s;
  s.integer("warmup", &BenchSpec::warmup, 0, 10000, "untimed runs before timing");
  s.integer("runs", &BenchSpec::runs, 1, 100000,
            "timed runs per model (original and result alternate run by run)");
  s.flag("memory", &BenchSpec::memory,
         "measure each model's peak memory in a process of its own, which loads it once more; "
         "false skips that for large models (the report's memory is then null, except "
         "export-onnx's ONNX Runtime side, which its verification measures anyway)");
  return s;
}

Section<GateSpec> gate_schema() {
  Section<GateSpec> s;
  s.number("max_abs_diff", &GateSpec::max_abs_diff, 0, kInf,
           "largest absolute difference between original and result outputs");
  s.number("max_mean_abs_diff", &GateSpec::max_mean_abs_diff, 0, kInf,
           "mean absolute difference between outputs");
  s.number("min_cosine", &GateSpec::min_cosine, -1, 1,
           "cosine similarity of the flattened outputs");
  s.number("min_label_agreement", &GateSpec::min_label_agreement, 0, 1,
           "fraction of rows whose predicted label (argmax, or thresholded sigmoid for "
           "multi-label) is the same");
  s.number("min_speedup", &GateSpec::min_speedup, 0, kInf,
           "original p50 latency / result p50 latency", true);
  s.number("max_size_ratio", &GateSpec::max_size_ratio, 0, kInf,
           "result file size / original file size", true);
  s.number("max_metric_drop", &GateSpec::max_metric_drop, -kInf, kInf,
           "original task metric - result task metric (needs data with labels and task.type)");
  return s;
}

}  // namespace

Section<DataSpec> data_schema() {
  Section<DataSpec> s;
  s.path("path", &DataSpec::path, PathCheck::existing_file,
         "JSONL file, one JSON object per line").required();
  s.text_map("inputs", &DataSpec::inputs,
             "forward argument -> JSON field (default: each forward argument reads the field of "
             "the same name)");
  s.text("labels", &DataSpec::labels,
         "JSON field with labels: a class index (single-label) or a multi-hot list "
         "(multi-label)");
  s.integer("batch_size", &DataSpec::batch_size, 1, 1 << 16, "samples per batch");
  s.integer("max_samples", &DataSpec::max_samples, 0, kMaxInt,
            "read at most this many samples (0 = all)");
  s.integer("pad_value", &DataSpec::pad_value, std::numeric_limits<int64_t>::min(), kMaxInt,
            "value that pads shorter sequences to the longest in their batch");
  s.text("text", &DataSpec::text,
         "JSON field with raw text instead of token ids: tokenized with `tokenizer` into the "
         "fields input_ids and attention_mask (map them with `inputs` if forward names them "
         "differently)");
  s.path("tokenizer", &DataSpec::tokenizer, PathCheck::existing_file,
         "SentencePiece model (.model, from spm_train) that tokenizes `text`");
  s.flag("add_bos", &DataSpec::add_bos,
         "start each tokenized text with the tokenizer's BOS id (the [CLS] position a "
         "BERT-style classifier pools)");
  s.integer("max_length", &DataSpec::max_length, 0, 1 << 20,
            "truncate token sequences to this many tokens (0 = no limit)");
  s.origin(&DataSpec::origin);
  s.check([](const DataSpec& d, const Origin& where, Context& ctx) {
    if (!d.text.empty() && d.tokenizer.empty()) {
      ctx.error(where, "text needs a tokenizer (a SentencePiece .model file)");
    }
    if (d.text.empty() && !d.tokenizer.empty()) {
      ctx.error(where, "tokenizer is given but text (the JSON field to tokenize) is not");
    }
  });
  return s;
}

Section<CommonRecipe> common_schema() {
  Section<CommonRecipe> s;
  s.integer("recipe_version", &CommonRecipe::recipe_version, std::numeric_limits<int64_t>::min(),
            kMaxInt, "schema version of the recipe; this llmc reads 1")
      .required();
  s.path("model", &CommonRecipe::model, PathCheck::existing_file,
         "input TorchScript model (.pt); never modified")
      .required();
  s.path("output", &CommonRecipe::output, PathCheck::output_dir,
         "output directory for the artifact and reports (--out overrides); an existing one is "
         "replaced only with --force");
  s.integer_or_auto("threads", &CommonRecipe::threads, 1, 1024,
                    "threads to compute with (--threads overrides), given to the pool named by "
                    "thread_pool; auto: the environment's LLMC_THREADS if set, else the cores "
                    "this process may use (its CPU affinity and cgroup CPU quota)");
  s.choice("thread_pool", &CommonRecipe::thread_pool,
           {{"auto", ThreadPoolKind::auto_pool},
            {"blas", ThreadPoolKind::blas},
            {"libtorch", ThreadPoolKind::libtorch}},
           "which pool gets the threads, the other runs single-threaded (both sized to the "
           "machine fight over the cores): auto (per model: blas when float32 matrix products "
           "are most of its operators, libtorch for int8, bf16/fp16 and convolutional models), "
           "blas (OpenBLAS) or libtorch (LibTorch's intra-op OpenMP pool)");
  s.integer("seed", &CommonRecipe::seed, 0, kMaxInt, "seed for synthetic inputs");
  s.list("example_inputs", &CommonRecipe::example_inputs, input_spec_schema(),
         "synthetic inputs, one per forward argument, in order");
  s.optional_section("data", &CommonRecipe::data, data_schema(),
                     "JSONL data for output agreement and the task metric");
  s.section("task", &CommonRecipe::task, task_schema(), "what the outputs mean");
  s.section("bench", &CommonRecipe::bench, bench_schema(), "latency measurement");
  s.section("gates", &CommonRecipe::gates, gate_schema(),
            "quality gates: a failed gate exits 1 and is named in both reports");
  s.origin(&CommonRecipe::origin);
  s.input_paths(&CommonRecipe::input_paths);
  s.check([](const CommonRecipe& r, const Origin& where, Context& ctx) {
    if (r.recipe_version != 1) {
      ctx.error(where, "recipe_version " + std::to_string(r.recipe_version) +
                           " is not supported (this llmc reads recipe_version: 1)");
    }
    if (r.example_inputs.empty() && !r.data) {
      ctx.error(where, "no measurement inputs: give example_inputs or data");
    }
    // A language model's labels are its own next input ids.
    const bool has_labels = r.data && (!r.data->labels.empty() ||
                                       r.task.type == TaskKind::language_model);
    if (r.task.type != TaskKind::none && !has_labels) {
      ctx.error(where, r.task.type == TaskKind::language_model
                           ? "task.type language-model needs data (a JSONL file of token ids "
                             "or text) for perplexity"
                           : "task.type needs data.labels (a labeled JSONL file) for the task "
                             "metric");
    }
    if (r.gates.max_metric_drop && (r.task.type == TaskKind::none || !has_labels)) {
      ctx.error(where, "gates.max_metric_drop needs task.type and data.labels");
    }
  });
  return s;
}

}  // namespace llmc::recipe
