#!/usr/bin/env bash
# The debtags case study end to end: build the dataset from the apt lists, make the models,
# train the teacher, distil the student (from the logits; and from logits and hidden states,
# step 2b), train the student without a teacher, and compare the three side by side (llmc
# compare: report.md and report.html in out/compare). Extra arguments go to every llmc run
# (e.g. --threads 2).
#   LLMC_DEBTAGS  where data, models and outputs go (default: build/debtags)
#   LLMC          the llmc binary (default: build/tools/llmc)
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../debtags/dataset.sh"
[ -f "$LLMC_DEBTAGS/teacher.pt" ] || /usr/bin/python3 "$here/make_models.py" "$LLMC_DEBTAGS"
"$llmc" distill "$here/teacher.yaml" --force "$@"
"$llmc" distill "$here/teacher-continue.yaml" --force "$@"
"$llmc" distill "$here/student-distilled.yaml" --force "$@"
"$llmc" distill "$here/student-hidden.yaml" --force "$@"
"$llmc" distill "$here/student-alone.yaml" --force "$@"
"$llmc" compare "$here/compare.yaml" --force "$@"
