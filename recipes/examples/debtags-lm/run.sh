#!/usr/bin/env bash
# The debtags language model end to end: build the dataset from the apt lists (shared with
# recipes/examples/debtags), make the untrained GPT-style model, train it with `llmc distill`
# (no teacher). Extra arguments go to `llmc distill` (e.g. --set distill.epochs=1).
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
  /usr/bin/python3 "$here/../debtags/build_dataset.py" "$LLMC_DEBTAGS"
fi
[ -f "$LLMC_DEBTAGS/lm.pt" ] || /usr/bin/python3 "$here/make_model.py" "$LLMC_DEBTAGS"
"$llmc" distill "$here/lm.yaml" --force "$@"
