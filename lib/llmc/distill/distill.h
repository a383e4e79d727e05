// `llmc distill`: a teacher teaches a student (or the student fine-tunes alone) on a recipe's
// training data; the best student by the evaluation metric is the artifact, compared with the
// teacher in the report (size, parameters, time for a batch, memory, metric), with the
// per-epoch history and learning curves (learning_curves.svg).
#pragma once

#include "llmc/distill/recipe.h"
#include "llmc/job/job.h"

namespace llmc::distill {

struct RunControl {
  bool resume = false;  // --resume
  bool force = false;   // --force: also discards checkpoints of an earlier run
};

job::Job distill_job(const DistillRecipe& recipe, RunControl control);

}  // namespace llmc::distill
