#!/usr/bin/env bash
# Which thread pool each kind of model runs fastest in, and what `thread_pool: auto` chose: the
# benchmark encoder in float32, dynamic int8 and bf16 (artifacts of `llmc quantize`), timed
# round robin by `llmc compare` at `threads` = the cores, with the threads given to OpenBLAS,
# to LibTorch's pool, and per model (auto). Measures and prints; it asserts nothing.
# Usage: bash tests/bench/bench_threads.sh [RUNS]
source "$(dirname "$0")/setup.sh" "$@"
cores=$(nproc)
echo "settings: threads $cores; thread_pool blas (OpenBLAS $cores threads, LibTorch 1), libtorch (LibTorch $cores, OpenBLAS 1) and auto"

for scheme in dynamic-int8 bf16; do
  LLMC_THREADS=1 ./build/tools/llmc quantize tests/bench/quantize-bench.yaml --force -q \
    --out "build/bench/threads-$scheme" --set quantize.scheme=$scheme \
    --set quantize.embeddings=false --set bench.runs=1 --set bench.memory=false > /dev/null
done
cat > build/bench/threads-compare.yaml <<YAML
recipe_version: 1
output: threads-compare
example_inputs:
  - {name: input_ids, shape: [16, 128], dtype: int64, range: [0, 8000]}
  - {name: attention_mask, shape: [16, 128], dtype: int64, fill: 1}
bench: {warmup: 3, runs: $runs, memory: false}
compare:
  models:
    - {name: fp32, path: bert_bench.pt}
    - {name: dynamic-int8, path: threads-dynamic-int8/model.pt}
    - {name: bf16, path: threads-bf16/model.pt}
YAML
for pool in blas libtorch auto; do
  ./build/tools/llmc compare build/bench/threads-compare.yaml --force -q --json \
    --threads "$cores" --set thread_pool=$pool --out "build/bench/threads-compare-$pool" \
    > "build/bench/threads-$pool.json"
done
"$torch_python" - <<'PY'
import json
rows = {}
for pool in ("blas", "libtorch", "auto"):
    r = json.load(open(f"build/bench/threads-{pool}.json"))
    for m in r["models"]:
        lat = m["latency"]
        rows.setdefault(m["name"], {})[pool] = (lat["p50_ms"], lat.get("thread_pool", ""))
print()
print("| model | blas p50 ms | libtorch p50 ms | libtorch / blas | auto chose | auto p50 ms |")
print("| --- | ---: | ---: | ---: | --- | ---: |")
for name, r in rows.items():
    b, l, a = r["blas"][0], r["libtorch"][0], r["auto"]
    print(f"| {name} | {b:.1f} | {l:.1f} | {l / b:.2f} | {a[1]} | {a[0]:.1f} |")
PY
