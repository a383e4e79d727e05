#!/usr/bin/env bash
# Benchmark of `llmc run`'s stage cache: recipes/examples/pipeline.yaml (the tiny BERT student:
# dynamic int8 -> eval-freeze -> ONNX, then the comparison of the four models) run three times
# on one output directory: from scratch (--rerun all), again with nothing changed (every stage
# cached), and with one option of the middle stage changed (it and the export run again).
# Prints the wall time of each run and of each stage. Measures and prints; asserts nothing.
# Usage: bash tests/bench/bench_pipeline.sh [RUNS]   (RUNS: bench.runs of every measurement)
no_model_line=1
source "$(dirname "$0")/setup.sh" "$@"
export LLMC_MODELS=$PWD/build/tests
out=build/bench/pipeline
echo "settings: 1 thread; bench.runs=$runs; measured under load (a machine shared with other builds)"
echo "| run | wall s | stages (status, s) |"
echo "| --- | ---: | --- |"
one() {
  local label=$1
  shift
  local start end
  start=$(date +%s.%N)
  ./build/tools/llmc -q run recipes/examples/pipeline.yaml --out "$out" --force \
    --set bench.runs="$runs" "$@" > /dev/null
  end=$(date +%s.%N)
  "$torch_python" - "$label" "$start" "$end" "$out/report.json" <<'PY'
import json, sys
label, start, end, path = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
stages = json.load(open(path))["details"]["stages"]
cells = ", ".join(f"{s['name']} {s['status']} {s['seconds']:.2f}" for s in stages)
print(f"| {label} | {end - start:.2f} | {cells} |")
PY
}
one "from scratch" --rerun all
one "nothing changed"
one "frozen's option changed" --set stages[1].determinism_runs=3
