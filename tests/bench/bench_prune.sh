#!/usr/bin/env bash
# Benchmarks of `llmc prune`. Measures and prints; asserts nothing.
#   1. structured: half of the feed-forward intermediate neurons of the BERT-style encoder
#      removed, latency at batch 16 x 128 against the original in the same run;
#   2. magnitude vs Wanda at 30/50/70/90% unstructured sparsity on the trained debtags teacher
#      and at the 2:4 and 4:8 patterns (recipes/examples/debtags: teacher-continue.yaml's output,
#      else teacher.yaml's; another trained model with LLMC_PRUNE_MODEL=path), Jaccard on 1024
#      held-out packages.
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
model=${LLMC_PRUNE_MODEL:-$deb/out/teacher-continued/model.pt}
[ -f "$model" ] || model=$deb/out/teacher/model.pt
if [ ! -f "$model" ]; then
  echo "2. skipped: no trained model at $model (run recipes/examples/debtags/run.sh)"
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
