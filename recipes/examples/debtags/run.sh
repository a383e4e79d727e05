#!/usr/bin/env bash
# The debtags case study end to end: build the dataset from the apt lists, make the models,
# train the teacher, distil the student, train the student without a teacher, and print the
# three side by side. Extra arguments go to every `llmc distill` (e.g. --threads 2).
#   LLMC_DEBTAGS  where data, models and outputs go (default: build/debtags)
#   LLMC          the llmc binary (default: build/tools/llmc)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
export LLMC_DEBTAGS=${LLMC_DEBTAGS:-$root/build/debtags}
llmc=${LLMC:-$root/build/tools/llmc}
if [ ! -f "$LLMC_DEBTAGS/train.jsonl" ]; then
  if ! apt-get indextargets -o Acquire::Languages=en 'Created-By: Translations' | grep -q .; then
    echo "run.sh: the apt lists have no English translations; run: sudo apt-get update -o Acquire::Languages=en" >&2
    exit 2
  fi
  /usr/bin/python3 "$here/build_dataset.py" "$LLMC_DEBTAGS"
fi
[ -f "$LLMC_DEBTAGS/teacher.pt" ] || /usr/bin/python3 "$here/make_models.py" "$LLMC_DEBTAGS"
"$llmc" distill "$here/teacher.yaml" --force "$@"
"$llmc" distill "$here/teacher-continue.yaml" --force "$@"
"$llmc" distill "$here/student-distilled.yaml" --force "$@"
"$llmc" distill "$here/student-alone.yaml" --force "$@"
python3 "$here/compare.py" "$LLMC_DEBTAGS/out"
