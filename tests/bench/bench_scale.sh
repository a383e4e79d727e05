#!/usr/bin/env bash
# The scale benchmark (issue: 110 M to 1.1 B parameters within 24 GiB): LLaMA-layout language
# models at three sizes (tests/bench/make_scale_models.py: ≈ 124 M, 336 M and TinyLlama-1.1B's
# shape), each through eval-freeze, quantize (dynamic-int8, bf16), prune (50 % magnitude, 2:4,
# structured FFN 50 %), export-onnx (external data) and distill (4 optimizer steps, batch 1, as
# the student of the smallest model; the 1.1 B one also as the teacher of the smallest).
# Prints wall time and the peak resident memory of the whole llmc run (GNU time's maximum RSS,
# which covers the memory probes and ONNX Runtime's verification, each a child process), with
# the ratio to the float32 file. Measures and prints; asserts nothing; not part of .ci/run.
# Batch 1 x 128, 2 threads, 3 timed runs per model (recipes in tests/bench/scale/).
# Usage: bash tests/bench/bench_scale.sh [SIZES...]   (default: s m l)
no_model_line=1
source "$(dirname "$0")/setup.sh" 3
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(s m l)
mkdir -p build/bench/scale-out
for s in "${sizes[@]}" s; do
  [ -f "build/bench/scale_$s.pt" ] || "$torch_python" tests/bench/make_scale_models.py build/bench "scale_$s.pt" >&2
done
echo "settings: 2 threads (LibTorch's pool; OpenBLAS 1 thread), batch 1 x 128, 3 timed runs; wall time and peak RSS of the whole run (/usr/bin/time)"
export LLMC_SCALE_DATA="$PWD/build/bench/scale_lm.jsonl"
results=build/bench/scale-out/results.tsv
: > "$results"
run() {  # size job recipe [teacher]
  local size=$1 job=$2 recipe=$3 teacher=${4:-build/bench/scale_s.pt}
  local out="build/bench/scale-out/$size-$job"
  local status=0
  LLMC_SCALE_MODEL="$PWD/build/bench/scale_$size.pt" LLMC_SCALE_OUT="$PWD/$out" \
    LLMC_SCALE_TEACHER="$PWD/$teacher" /usr/bin/time -f "%e %M" -o "$out.time" \
    ./build/tools/llmc "$recipe_command" "tests/bench/scale/$recipe" --force -q --json \
    > "$out.json" 2> "$out.err" || status=$?
  read -r secs kib < <(tail -1 "$out.time")
  printf '%s\t%s\t%s\t%s\t%s\n' "$size" "$job" "$secs" "$kib" "$status" >> "$results"
  printf '%-6s %-22s %7.1f s %8.0f MiB  exit %s\n' "$size" "$job" "$secs" "$((kib / 1024))" "$status"
  rm -rf "$out"
}
for s in "${sizes[@]}"; do
  recipe_command=eval-freeze run "$s" eval-freeze eval-freeze.yaml
  recipe_command=quantize run "$s" quantize-int8 quantize-int8.yaml
  recipe_command=quantize run "$s" quantize-bf16 quantize-bf16.yaml
  recipe_command=prune run "$s" prune-magnitude-50 prune-magnitude.yaml
  recipe_command=prune run "$s" prune-2:4 prune-2-4.yaml
  recipe_command=prune run "$s" prune-ffn-50 prune-ffn.yaml
  recipe_command=export-onnx run "$s" export-onnx export-onnx.yaml
  recipe_command=distill run "$s" distill-student distill.yaml build/bench/scale_s.pt
  if [ "$s" = l ]; then
    # The 1.1 B model as the teacher of the smallest: LLMC_SCALE_MODEL is the student.
    out="build/bench/scale-out/l-distill-teacher"
    status=0
    LLMC_SCALE_MODEL="$PWD/build/bench/scale_s.pt" LLMC_SCALE_OUT="$PWD/$out" \
      LLMC_SCALE_TEACHER="$PWD/build/bench/scale_l.pt" /usr/bin/time -f "%e %M" -o "$out.time" \
      ./build/tools/llmc distill tests/bench/scale/distill.yaml --force -q --json > "$out.json" 2> "$out.err" || status=$?
    read -r secs kib < <(tail -1 "$out.time")
    printf '%s\t%s\t%s\t%s\t%s\n' l distill-teacher "$secs" "$kib" "$status" >> "$results"
    printf '%-6s %-22s %7.1f s %8.0f MiB  exit %s\n' l distill-teacher "$secs" "$((kib / 1024))" "$status"
    rm -rf "$out"
  fi
done
"$torch_python" - "$results" <<'PY'
import os, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
size = {s: os.path.getsize(f"build/bench/scale_{s}.pt") for s in {r[0] for r in rows}}
print("\nmodel file: " + ", ".join(f"{s} {size[s] / 2**20:.0f} MiB" for s in sorted(size)))
print(f"{'job':24} " + " ".join(f"{s + ': s, MiB (x file)':>30}" for s in sorted(size)))
for job in dict.fromkeys(r[1] for r in rows):
    cells = []
    for s in sorted(size):
        r = next((r for r in rows if r[0] == s and r[1] == job), None)
        if r is None:
            cells.append(f"{'-':>30}")
            continue
        secs, mib, code = float(r[2]), int(r[3]) / 1024, r[4]
        flag = "" if code == "0" else f" exit {code}"
        cells.append(f"{f'{secs:.0f} s, {mib:.0f} MiB ({mib * 2**20 / size[s]:.2f}x){flag}':>30}")
    print(f"{job:24} " + " ".join(cells))
PY
