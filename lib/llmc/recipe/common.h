// The recipe keys every subcommand shares: the input model, the output directory, threads,
// measurement inputs (example_inputs and/or a JSONL data file), the task, benchmark settings
// and quality gates. Each subcommand's recipe is CommonRecipe plus its own section.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "llmc/command_table.h"
#include "llmc/recipe/context.h"
#include "llmc/recipe/schema.h"

namespace llmc::recipe {

enum class DType { float32, float64, float16, bfloat16, int64, int32, uint8, int8, boolean };
const std::vector<std::pair<std::string, DType>>& dtype_table();
std::string dtype_name(DType dtype);
bool is_integral(DType dtype);
int64_t dtype_bytes(DType dtype);

// The largest synthetic input tensor a recipe may ask for, and its largest rank: example inputs
// are allocated whole (by validate too), so [1048576, 1048576] must be an error, not 8 TB.
constexpr int64_t kMaxExampleInputBytes = int64_t{1} << 30;  // 1 GiB
constexpr size_t kMaxExampleInputRank = 16;

// One synthetic input tensor for measurement.
struct InputSpec {
  std::string name;            // forward argument name
  std::vector<int64_t> shape;  // e.g. [16, 128]
  DType dtype = DType::float32;
  std::vector<double> range;   // [lo, hi): uniform ints or floats; empty = standard normal
  std::optional<double> fill;  // a constant instead (e.g. 1 for attention masks)
  Origin origin;
  Origin shape_origin, range_origin, fill_origin;  // where those values stood
};

// A JSONL file whose fields become forward arguments (and labels).
struct DataSpec {
  std::string path;
  std::map<std::string, std::string> inputs;  // forward argument -> JSON field; default: same
  std::string labels;                         // JSON field holding labels; "" = none
  int64_t batch_size = 16;
  int64_t max_samples = 0;  // 0 = all
  int64_t pad_value = 0;    // value that pads ragged sequences within a batch
  std::string text;         // JSON field with raw text, tokenized into input_ids/attention_mask
  std::string tokenizer;    // SentencePiece model for `text`
  bool add_bos = true;      // start each tokenized text with the tokenizer's BOS id
  int64_t max_length = 0;   // truncate sequences to this many tokens (0 = no limit)
  Origin origin;
};

enum class TaskKind { none, single_label, multi_label, language_model };

// Which thread pool gets `threads` (the other runs single-threaded); see util/threads.h. auto:
// per model, the pool its operators run in (model/compute_profile.h).
enum class ThreadPoolKind { auto_pool, blas, libtorch };

struct TaskSpec {
  TaskKind type = TaskKind::none;
  double threshold = 0.5;  // multi-label decision threshold on sigmoid(logit)
};

struct BenchSpec {
  int64_t warmup = 3;
  int64_t runs = 20;
  bool memory = true;  // each model's peak memory measured in a process of its own
};

// Quality gates; unset ones are not checked.
struct GateSpec {
  std::optional<double> max_abs_diff;
  std::optional<double> max_mean_abs_diff;
  std::optional<double> min_cosine;
  std::optional<double> min_label_agreement;
  std::optional<double> min_speedup;
  std::optional<double> max_size_ratio;
  std::optional<double> max_metric_drop;
};

struct CommonRecipe {
  int64_t recipe_version = 0;
  std::string model;
  std::string output;
  int64_t threads = 0;  // 0: auto (util::resolve_threads: LLMC_THREADS, else the cores)
  ThreadPoolKind thread_pool = ThreadPoolKind::auto_pool;
  int64_t seed = 0;
  std::vector<InputSpec> example_inputs;
  std::optional<DataSpec> data;
  TaskSpec task;
  BenchSpec bench;
  GateSpec gates;
  Origin origin;
  // Every input path the recipe names (model, data, tokenizers, calibration data, teacher, ...:
  // the keys its schema declares as existing files), resolved; filled by binding. No output may
  // contain or replace them.
  std::vector<std::string> input_paths;
};

Section<CommonRecipe> common_schema();
// The schema of a JSONL data section (`data:`, and subcommands' own data keys).
Section<DataSpec> data_schema();

// Adds hints for the sections of the other subcommands (llmc/command_table.h) to a
// subcommand's root schema.
template <class R>
void hint_other_sections(Section<R>& schema, const std::string& own_section) {
  for (const auto& row : command_table()) {
    if (row.section != own_section) {
      schema.hint(std::string(row.section), "this section belongs to `llmc " +
                                                std::string(row.name) +
                                                "`; run that subcommand with this recipe");
    }
  }
}

}  // namespace llmc::recipe
