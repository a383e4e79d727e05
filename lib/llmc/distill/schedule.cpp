#include "llmc/distill/schedule.h"

#include <algorithm>
#include <cmath>

namespace llmc::distill {

double LinearSchedule::at(int64_t step) const {
  if (step < warmup_steps) {
    return peak * static_cast<double>(step) / static_cast<double>(std::max<int64_t>(1, warmup_steps));
  }
  const double left = static_cast<double>(total_steps - step);
  return peak * std::max(0.0, left / static_cast<double>(std::max<int64_t>(1, total_steps - warmup_steps)));
}

int64_t warmup_steps(int64_t steps, double ratio, int64_t total) {
  if (steps > 0) return steps;
  return static_cast<int64_t>(std::ceil(ratio * static_cast<double>(total)));
}

}  // namespace llmc::distill
