#!/usr/bin/env bash
# Data-parallel `llmc distill` on this machine: 2 workers x 1 thread (--nproc 2, batch 16 per
# worker) against 1 worker x 2 threads and 1 worker x 1 thread (batch 32): the same global batch
# of 32, model, data and optimizer steps. The model is the benchmark encoder (bert_bench.pt:
# hidden 256, 4 layers, vocab 8000, 5.3 M parameters) fine-tuned without a teacher on the
# synthetic distill fixture (512 training samples of 8-24 tokens, 256 evaluation samples).
# Prints the training loop's samples/s and, for the workers, rank 0's share of the training
# time spent in collectives (gradient all-reduce, waiting for the other worker included).
# Measures and prints; asserts nothing. Other processes on the machine skew it: run it alone.
# Usage: bash tests/bench/bench_distill_parallel.sh [EPOCHS]   (default 3)
no_model_line=1
source "$(dirname "$0")/setup.sh" 1
epochs=${BENCH_EPOCHS:-3}
[ $# -ge 1 ] && epochs=$1
[ -f build/bench/distill_train.jsonl ] ||
  "$torch_python" tests/fixtures/make_fixtures.py build/bench --only distill_train.jsonl >&2
echo "cpu: $(grep -m1 "model name" /proc/cpuinfo | sed 's/.*: //') ($(nproc) cores)"
echo "model: bert_bench.pt (hidden 256, 4 layers, vocab 8000), no teacher; 512 training samples, global batch 32, $epochs epochs"
cat > build/bench/distill-parallel.yaml <<YAML
# Written by tests/bench/bench_distill_parallel.sh.
recipe_version: 1
model: bert_bench.pt
output: distill-parallel
threads: 1
seed: 0
data: {path: distill_test.jsonl, labels: labels, batch_size: 32}
task: {type: multi-label}
bench: {warmup: 1, runs: 2, memory: false}
distill:
  alpha: 1
  epochs: $epochs
  learning_rate: 0.0005
  train_data: {path: distill_train.jsonl, labels: labels, batch_size: 32}
YAML

"$torch_python" - <<'PY'
import json, subprocess, sys, time

def run(label, threads, batch, nproc):
    cmd = ["./build/tools/llmc", "-q", "--json", "distill", "build/bench/distill-parallel.yaml",
           "--force", "--threads", str(threads), "--set", f"distill.train_data.batch_size={batch}",
           "--out", f"build/bench/distill-parallel-{nproc}x{threads}"]
    if nproc > 1:
        cmd += ["--nproc", str(nproc)]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        sys.exit(r.stderr)
    d = json.loads(r.stdout)["details"]
    dp = d.get("data_parallel")
    comm = f", {100 * dp['communication_share']:.1f} % of the training time in collectives ({dp['communication_seconds']:.1f} s)" if dp else ""
    print(f"{label}: {d['train_samples_per_second']:.1f} samples/s (training loop {d['train_seconds']:.1f} s, wall {wall:.1f} s){comm}")
    return d["train_samples_per_second"]

one_two = run("1 worker x 2 threads, batch 32", 2, 32, 1)
two_one = run("2 workers x 1 thread, batch 16 each", 1, 16, 2)
one_one = run("1 worker x 1 thread, batch 32", 1, 32, 1)
print(f"2 workers x 1 thread / 1 worker x 2 threads: {two_one / one_two:.2f}x; "
      f"/ 1 worker x 1 thread: {two_one / one_one:.2f}x")
PY
