// A JSONL data file read into memory, one row per sample, before batching (what training
// shuffles), with every value checked for what its column is: token ids, masks, labels. Free of
// LibTorch: data/inputs.h turns samples into batch tensors.
#pragma once

#include <cstdint>
#include <istream>
#include <string>
#include <vector>

#include "llmc/recipe/common.h"

namespace llmc::data {

// One sample's field as a flat list of numbers plus its shape ([] scalar, [n] sequence).
struct Field {
  std::vector<double> values;
  std::vector<int64_t> shape;
  bool integral = true;  // no value was written as a JSON float
};

// What a column holds, from its forward argument's name; it decides how values are checked.
enum class ColumnKind {
  values,     // any numbers; the column is integer when all its values are, else float
  token_ids,  // input_ids and every *_ids argument: integers >= 0 (no floats, no booleans)
  mask,       // attention_mask and every *_attention_mask: 0 or 1 (or false/true), one per id
};
ColumnKind column_kind(const std::string& forward_arg);

struct SampleTable {
  std::string source;                        // the JSONL path
  std::vector<std::string> args;             // forward arguments, one column each
  std::vector<ColumnKind> kinds;             // kinds[arg]
  std::vector<std::vector<Field>> columns;   // columns[arg][sample]
  std::vector<bool> integral;                // integral[arg]: every value of the column is
  std::vector<Field> labels;                 // per sample; empty when the data has none
  std::vector<int64_t> lines;                // source line of each sample (1-based)
  std::string tokenizer;                     // the SentencePiece model that made the ids, if any
  int64_t pad_value = 0;
  int64_t size() const { return static_cast<int64_t>(lines.size()); }
  bool has_labels() const { return !labels.empty(); }
  // "data.jsonl:12": where sample `row` stands in the file.
  std::string location(int64_t row) const;
};

// Reads every sample of a JSONL file: fields mapped to forward arguments (spec.inputs), raw
// `text` tokenized with spec.tokenizer, sequences truncated to spec.max_length. The labels are
// checked for `task`: a class index (an integer >= 0) per sample for single_label, a multi-hot
// list of 0/1 for multi_label. A malformed line or value is an InputError naming file:line (and
// column, for JSON syntax) and the field.
SampleTable read_samples(const recipe::DataSpec& spec, const std::vector<std::string>& forward_args,
                         recipe::TaskKind task = recipe::TaskKind::none);
// The same over a stream; spec.path only names the source in messages.
SampleTable parse_samples(std::istream& in, const recipe::DataSpec& spec,
                          const std::vector<std::string>& forward_args, recipe::TaskKind task);

// Token ids must index the model's input embedding table (`vocab_rows` rows): InputError naming
// the first sample (file:line) whose input_ids go beyond it, the model and, when a tokenizer
// made the ids, the tokenizer (a tokenizer for another model).
void check_token_ids(const SampleTable& table, int64_t vocab_rows, const std::string& model_path);

// Labels must fit a classifier head of `classes` outputs: single-label class indices below it,
// multi-hot lists exactly that long. InputError naming the first sample (file:line) that does not.
void check_label_classes(const SampleTable& table, recipe::TaskKind task, int64_t classes,
                         const std::string& model_path);

}  // namespace llmc::data
