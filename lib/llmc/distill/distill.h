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

class DataParallel;

// The job of one process, or of rank 0 of a data-parallel run (`parallel`).
job::Job distill_job(const DistillRecipe& recipe, RunControl control,
                     DataParallel* parallel = nullptr);

// Runs `llmc distill`: one process through the job runner, or, when WORLD_SIZE > 1 (torchrun's
// variables, or `--nproc N`), one worker of a data-parallel run: rank 0 runs the job and writes
// the artifact and the report; the others train and return a report with only
// details.data_parallel (rank > 0), which is not printed.
report::Report run_distill(DistillRecipe recipe, RunControl control,
                           const job::RunOptions& options);

}  // namespace llmc::distill
