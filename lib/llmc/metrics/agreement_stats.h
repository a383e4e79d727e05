// Output agreement figures (torch-free, so reports and gates need no LibTorch).
#pragma once

#include <cstdint>
#include <optional>

namespace llmc::metrics {

struct Agreement {
  int64_t elements = 0;
  double max_abs_diff = 0;
  double mean_abs_diff = 0;
  double cosine = 1;
  std::optional<double> label_agreement;  // fraction of rows with the same predicted label(s)
  // multi-label: fraction of the (row, label) decisions that are the same
  std::optional<double> decision_agreement;
  bool identical = true;                  // bitwise equal
};

}  // namespace llmc::metrics
