// The data behind report.html's figures that `llmc compare` puts in report.json's details
// (torch-free): the learning curves of the distill runs that trained the models, and the
// softmax-with-temperature panel.
#pragma once

#include <string>
#include <vector>

#include "llmc/util/json.h"

namespace llmc::compare {

// Rows {model, epoch, train_loss, metric, value} from a `llmc distill` report.json's
// details.history (one row per evaluation; `metric` is its details.best_metric). InputError
// naming the file when it is not such a report.
std::vector<util::Json> distill_history_rows(const std::string& model_name,
                                             const std::string& report_path);

// softmax(z / t) of `logits`.
std::vector<double> softmax(const std::vector<double>& logits, double t);

// details.softmax: the `count` largest of `logits` (a row of the reference's outputs, in class
// order), and their softmax at T = 1 and at `temperature`, over those classes.
util::Json softmax_panel(const std::vector<double>& logits, double temperature,
                         const std::string& model_name, const std::string& row, size_t count = 12);

}  // namespace llmc::compare
