#!/usr/bin/env bash
# The debtags language model end to end: build the dataset from the apt lists (shared with
# recipes/examples/debtags), make the untrained model, train it with `llmc distill` (no
# teacher). Extra arguments go to `llmc distill` (e.g. --set distill.epochs=1).
#   LLMC_DEBTAGS    where data, models and outputs go (default: build/debtags)
#   LLMC            the llmc binary (default: build/tools/llmc)
#   LLMC_LM_LAYOUT  gpt (default: lm.pt -> out/lm) or llama (Hugging Face's LLaMA layout, traced:
#                   lm_llama.pt -> out/lm_llama); make_model.py says what each is
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../debtags/dataset.sh"
layout=${LLMC_LM_LAYOUT:-gpt}
case "$layout" in
  gpt) name=lm ;;
  llama) name=lm_llama ;;
  *) echo "LLMC_LM_LAYOUT: expected gpt or llama, got '$layout'" >&2; exit 2 ;;
esac
[ -f "$LLMC_DEBTAGS/$name.pt" ] || /usr/bin/python3 "$here/make_model.py" "$LLMC_DEBTAGS" --layout "$layout"
"$llmc" distill "$here/lm.yaml" --force --set model="$LLMC_DEBTAGS/$name.pt" \
  --set output="$LLMC_DEBTAGS/out/$name" "$@"
