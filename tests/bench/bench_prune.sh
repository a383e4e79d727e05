#!/usr/bin/env bash
# Benchmarks of `llmc prune`. Measures and prints; asserts nothing.
#   1. structured: half of the feed-forward intermediate neurons of the BERT-style encoder
#      removed, latency at batch 16 x 128 against the original in the same run;
#   2. magnitude vs Wanda at 30/50/70/90% unstructured sparsity on the trained debtags teacher
#      and at the 2:4 and 4:8 patterns (recipes/examples/debtags: teacher-continue.yaml's output,
#      else teacher.yaml's; another trained model with LLMC_PRUNE_MODEL=path), Jaccard on 1024
#      held-out packages;
#   3. the same sweep on the causal language model of recipes/examples/debtags-lm (perplexity;
#      another with LLMC_PRUNE_LM=path).
# Usage: bash tests/bench/bench_prune.sh [RUNS]
source "$(dirname "$0")/setup.sh" "$@"
echo "settings: 1 LibTorch intra-op thread, OpenBLAS 1 thread${OPENBLAS_CORETYPE:+, OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE}"
./build/tools/llmc prune tests/bench/prune-bench.yaml --force -q --json --set bench.runs="$runs" > build/bench/prune-ffn.json
"$torch_python" - <<'PY'
import json
r = json.load(open("build/bench/prune-ffn.json"))
o, p = r["original"], r["result"]
print(f"\n1. structured ffn 50%: p50 {o['latency']['p50_ms']:.1f} ms -> {p['latency']['p50_ms']:.1f} ms: "
      f"{r['comparison']['speedup']:.2f}x faster; parameters {o['parameter_count']} -> {p['parameter_count']}; "
      f"file {r['comparison']['size_ratio']:.3f}x")
PY
deb=${LLMC_DEBTAGS:-build/debtags}
# 3. magnitude vs Wanda on the causal language model trained on the package descriptions
#    (recipes/examples/debtags-lm/run.sh), perplexity on 1024 held-out packages (lower is better).
lm_table() {
  local lm=${LLMC_PRUNE_LM:-$deb/out/lm/model.pt}
  if [ ! -f "$lm" ]; then
    echo "3. skipped: no trained language model at $lm (run recipes/examples/debtags-lm/run.sh)"
    return
  fi
  echo
  echo "3. $lm (GPT-style causal LM, hidden 256, 4 layers), perplexity on 1024 held-out packages (lower is better); OpenBLAS 2 threads; wanda calibrated on 8 batches of 16 training packages"
  echo "| sparsity | magnitude | wanda |"
  echo "| ---: | ---: | ---: |"
  local s m line
  for s in 0.3 0.5 0.7 0.9 2:4 4:8; do
    line="| $s |"
    for m in magnitude wanda; do
      local what=(--set prune.sparsity="$s")
      [[ $s == *:* ]] && what=(--set prune.pattern="$s" --set prune.sparsity=0)
      ./build/tools/llmc prune tests/bench/prune-debtags-lm.yaml --force -q --json --out "build/bench/prune-lm-$m-$s" \
        --set model="$lm" --set prune.method=$m "${what[@]}" > "build/bench/prune-lm-$m-$s.json"
      line="$line $("$torch_python" -c "import json,sys; r=json.load(open(sys.argv[1])); print(f\"{r['result']['metrics']['perplexity']:.2f}\")" "build/bench/prune-lm-$m-$s.json") |"
    done
    echo "$line"
  done
  "$torch_python" -c "import json; r=json.load(open('build/bench/prune-lm-wanda-0.5.json')); print(f\"(dense language model: {r['original']['metrics']['perplexity']:.2f})\")"
}
model=${LLMC_PRUNE_MODEL:-$deb/out/teacher-continued/model.pt}
[ -f "$model" ] || model=$deb/out/teacher/model.pt
if [ ! -f "$model" ]; then
  echo "2. skipped: no trained model at $model (run recipes/examples/debtags/run.sh)"
  lm_table
  exit 0
fi
echo
echo "2. $model (debtags teacher, hidden 256, 4 layers), Jaccard on 1024 held-out packages; OpenBLAS 2 threads; wanda calibrated on 8 batches of 16 of the same split"
echo "| sparsity | magnitude | wanda |"
echo "| ---: | ---: | ---: |"
for s in 0.3 0.5 0.7 0.9; do
  line="| $s |"
  for m in magnitude wanda; do
    ./build/tools/llmc prune tests/bench/prune-debtags.yaml --force -q --json --out "build/bench/prune-$m-$s" \
      --set model="$model" --set prune.method=$m --set prune.sparsity=$s > "build/bench/prune-$m-$s.json"
    line="$line $("$torch_python" -c "import json,sys; r=json.load(open(sys.argv[1])); print(f\"{r['result']['metrics']['jaccard_samples']:.4f}\")" "build/bench/prune-$m-$s.json") |"
  done
  echo "$line"
done
for pat in 2:4 4:8; do
  line="| $pat |"
  for m in magnitude wanda; do
    ./build/tools/llmc prune tests/bench/prune-debtags.yaml --force -q --json --out "build/bench/prune-$m-$pat" \
      --set model="$model" --set prune.method=$m --set prune.pattern=$pat --set prune.sparsity=0 > "build/bench/prune-$m-$pat.json"
    line="$line $("$torch_python" -c "import json,sys; r=json.load(open(sys.argv[1])); print(f\"{r['result']['metrics']['jaccard_samples']:.4f}\")" "build/bench/prune-$m-$pat.json") |"
  done
  echo "$line"
done
"$torch_python" -c "import json; r=json.load(open('build/bench/prune-wanda-0.5.json')); print(f\"(dense teacher: {r['original']['metrics']['jaccard_samples']:.4f})\")"
lm_table
