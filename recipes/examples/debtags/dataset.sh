# Shared start of the debtags scripts (sourced, not run): sets LLMC_DEBTAGS (where data, models
# and outputs go; default build/debtags) and llmc (the binary; $LLMC, default build/tools/llmc),
# and builds the dataset from the apt lists when it is not there yet.
set -euo pipefail
debtags_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
export LLMC_DEBTAGS=${LLMC_DEBTAGS:-$debtags_root/build/debtags}
llmc=${LLMC:-$debtags_root/build/tools/llmc}
if [ ! -f "$LLMC_DEBTAGS/train.jsonl" ]; then
  if ! apt-get indextargets -o Acquire::Languages=en 'Created-By: Translations' | grep -q .; then
    echo "the apt lists have no English translations; run: sudo apt-get update -o Acquire::Languages=en" >&2
    exit 2
  fi
  /usr/bin/python3 "$debtags_root/recipes/examples/debtags/build_dataset.py" "$LLMC_DEBTAGS"
fi
