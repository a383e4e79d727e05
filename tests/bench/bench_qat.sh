#!/usr/bin/env bash
# Benchmark of quantization-aware training (distill.qat) on the debtags student: the task metric
# (Jaccard, samples) of QAT static-int8 against post-training static-int8 and dynamic-int8 of the
# same float student, each as a drop against that float student, and the time for a batch of 16
# held-out packages. Measures and prints; asserts nothing.
#   1. the float student: recipes/examples/debtags' student-alone artifact when it exists, else
#      the fresh debtags student trained here without a teacher (QAT_FLOAT_EPOCHS epochs on the
#      first QAT_TRAIN_SAMPLES training packages);
#   2. QAT from it: QAT_EPOCHS epochs with fake quantization from epoch 1 (learning rate 2e-4,
#      observers frozen in the last epoch when there are two or more); the run's report holds
#      the comparison (details.qat_comparison): llmc quantizes the float student with
#      static-int8 (calibrated on 8 training batches) and dynamic-int8 by the code of
#      `llmc quantize`.
# Usage: bash tests/bench/bench_qat.sh   (needs the debtags dataset and models:
# recipes/examples/debtags/build_dataset.py and make_models.py; built here when missing)
no_model_line=1
source "$(dirname "$0")/setup.sh" 20
threads=${BENCH_THREADS:-2}
deb=${LLMC_DEBTAGS:-build/debtags}
train_n=${QAT_TRAIN_SAMPLES:-8192}
test_n=${QAT_TEST_SAMPLES:-0}
float_epochs=${QAT_FLOAT_EPOCHS:-4}
qat_epochs=${QAT_EPOCHS:-2}
[ -f "$deb/train.jsonl" ] || "$torch_python" recipes/examples/debtags/build_dataset.py "$deb" >&2
[ -f "$deb/student.pt" ] || "$torch_python" recipes/examples/debtags/make_models.py "$deb" >&2
export LLMC_DEBTAGS=$(cd "$deb" && pwd)
sets=(--set distill.train_data.max_samples="$train_n" --set data.max_samples="$test_n")
float="$deb/out/student-alone/model.pt"
if [ -f "$float" ]; then
  echo "float student: $float (recipes/examples/debtags/student-alone.yaml)"
else
  float=build/bench/qat-float-$train_n-$float_epochs/model.pt
  [ -f "$float" ] || ./build/tools/llmc distill tests/bench/qat-bench.yaml --force -q --threads "$threads" \
    --out "$(dirname "$float")" "${sets[@]}" --set distill.epochs="$float_epochs" > /dev/null
  echo "float student: the debtags student (hidden 128, 2 layers) trained without a teacher, $float_epochs epochs on the first $train_n training packages"
fi
freeze=0
[ "$qat_epochs" -ge 2 ] && freeze=$qat_epochs
./build/tools/llmc distill tests/bench/qat-bench.yaml --force -q --json --threads "$threads" \
  --out build/bench/qat "${sets[@]}" --set model="$float" --set distill.epochs="$qat_epochs" \
  --set distill.learning_rate=0.0002 --set distill.qat.start_epoch=1 \
  --set distill.qat.freeze_observers_epoch="$freeze" > build/bench/qat.json
echo "settings: $threads thread(s); QAT $qat_epochs epoch(s) from epoch 1 at lr 2e-4 on the first $train_n training packages, per-channel weights, observed uint8 inputs; measured under load"
"$torch_python" - build/bench/qat.json <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
d = r["details"]
metric = d["best_metric"]
print(f"held-out packages: {r['inputs']['rows']}, latency batch: {r['inputs']['latency_batch_rows']} rows")
print(f"fake-quantized: {d['qat']['coverage']['fake_quantized_layers']} Linear layers, "
      f"{100 * d['qat']['coverage']['fake_quantized_share']:.1f} % of the parameters")
print(f"| model | {metric} | drop vs float before QAT | drop vs its own float | p50 ms (batch of 16) |")
print("|---|---:|---:|---:|---:|")
for row in d["qat_comparison"]:
    print(f"| {row['model']} | {row[metric]:.4f} | {row['drop']:+.4f} | {row['drop_vs_own_float']:+.4f} | {row['p50_ms']:.2f} |")
print(f"the models one after another ({r['original']['latency']['runs']} runs each); timed alternately by the report "
      f"(float student before QAT vs QAT int8): p50 {r['original']['latency']['p50_ms']:.2f} ms vs {r['result']['latency']['p50_ms']:.2f} ms")
PY
