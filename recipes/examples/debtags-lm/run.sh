#!/usr/bin/env bash
# The debtags language model end to end: build the dataset from the apt lists (shared with
# recipes/examples/debtags), make the untrained GPT-style model, train it with `llmc distill`
# (no teacher). Extra arguments go to `llmc distill` (e.g. --set distill.epochs=1).
#   LLMC_DEBTAGS  where data, models and outputs go (default: build/debtags)
#   LLMC          the llmc binary (default: build/tools/llmc)
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../debtags/dataset.sh"
[ -f "$LLMC_DEBTAGS/lm.pt" ] || /usr/bin/python3 "$here/make_model.py" "$LLMC_DEBTAGS"
"$llmc" distill "$here/lm.yaml" --force "$@"
