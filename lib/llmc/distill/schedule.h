// The learning-rate schedule: linear warm-up from 0, then linear decay to 0 at the last step
// (Hugging Face's get_linear_schedule_with_warmup). Torch-free.
#pragma once

#include <cstdint>

namespace llmc::distill {

struct LinearSchedule {
  double peak = 0;
  int64_t warmup_steps = 0;
  int64_t total_steps = 0;
  // Learning rate for optimizer step `step` (0-based, the number of steps already taken).
  double at(int64_t step) const;
};

// Warm-up steps from the recipe: `steps` when non-zero, else ceil(ratio * total).
int64_t warmup_steps(int64_t steps, double ratio, int64_t total);

}  // namespace llmc::distill
