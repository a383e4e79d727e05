#!/usr/bin/env bash
# Benchmark of `llmc quantize` (dynamic-int8 with 8-bit embeddings) on the BERT-style encoder at
# batch 16 x 128, with the Python peer (quantize_dynamic_jit, onednn) in the same run. Measures
# and prints; it asserts nothing. Usage: bash tests/bench/bench_quantize.sh [RUNS]
source "$(dirname "$0")/setup.sh" "$@"
echo "settings: 1 LibTorch intra-op thread, OpenBLAS 1 thread, quantized engine onednn (both sides)${OPENBLAS_CORETYPE:+, OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE}"

./build/tools/llmc quantize tests/bench/quantize-bench.yaml --force -q --json \
  --set bench.runs="$runs" > build/bench/llmc-quantize.json
# The same with the attention products kept in float32 (quantize.activation_matmuls: fp32; the
# default, auto, makes them bf16 on a CPU with AVX512-BF16 unless oneDNN is capped below AMX).
./build/tools/llmc quantize tests/bench/quantize-bench.yaml --force -q --json --out build/bench/quantize-fp32-matmuls \
  --set bench.runs="$runs" --set quantize.activation_matmuls=fp32 > build/bench/llmc-quantize-fp32-matmuls.json
# The same with oneDNN uncapped (onednn_isa: all; on a CPU with AMX its int8 GEMM takes the AMX path).
./build/tools/llmc quantize tests/bench/quantize-bench.yaml --force -q --json --out build/bench/quantize-isa-all \
  --set bench.runs="$runs" --set quantize.onednn_isa=all > build/bench/llmc-quantize-isa-all.json
# The same with LibTorch's own allocator (no huge pages: docs/cli.md#tensor-memory).
LLMC_HUGE_PAGES=0 ./build/tools/llmc quantize tests/bench/quantize-bench.yaml --force -q --json \
  --out build/bench/quantize-small-pages --set bench.runs="$runs" > build/bench/llmc-quantize-small-pages.json
# bf16 and static-int8 (calibrated on 4 batches of random token ids: a latency figure, not an
# accuracy one) on the same model.
./build/tools/llmc quantize tests/bench/quantize-bench.yaml --force -q --json --out build/bench/quantize-bf16 \
  --set bench.runs="$runs" --set quantize.scheme=bf16 --set quantize.embeddings=false > build/bench/llmc-bf16.json
"$torch_python" -c "
import json, random
random.seed(0)
with open('build/bench/calib.jsonl', 'w') as f:
    for _ in range(64):
        f.write(json.dumps({'input_ids': [random.randrange(8000) for _ in range(128)], 'attention_mask': [1] * 128}) + '\\n')
"
./build/tools/llmc quantize tests/bench/quantize-bench.yaml --force -q --json --out build/bench/quantize-static \
  --set bench.runs="$runs" --set quantize.scheme=static-int8 --set data.path=build/bench/calib.jsonl \
  --set quantize.calibration_batches=4 > build/bench/llmc-static.json
# The peer runs under the oneDNN ISA cap llmc chose (details.deploy_env, e.g.
# ONEDNN_MAX_CPU_ISA=AVX512_CORE_BF16 on a CPU with AMX), as a user serving the artifact would.
deploy_env=$("$torch_python" -c "import json; print(json.load(open('build/bench/llmc-quantize.json'))['details'].get('deploy_env', ''))")
echo "oneDNN ISA for llmc and the peer: $("$torch_python" -c "import json; d=json.load(open('build/bench/llmc-quantize.json'))['details']; print(d['onednn_isa'], '-', d['onednn_isa_reason'])")"
env $deploy_env "$torch_python" tests/bench/peer_quantize.py build/bench/bert_bench.pt \
  build/bench/quantize/model.pt 16 128 8000 "$runs" build/bench/peer_int8.pt build/bench/quantize-fp32-matmuls/model.pt > build/bench/peer-quantize.json
# Python with huge pages for every malloc (glibc >= 2.35), like llmc's allocator.
env $deploy_env GLIBC_TUNABLES=glibc.malloc.hugetlb=1 "$torch_python" tests/bench/peer_quantize.py build/bench/bert_bench.pt \
  build/bench/quantize/model.pt 16 128 8000 "$runs" build/bench/peer_int8.pt build/bench/quantize-fp32-matmuls/model.pt > build/bench/peer-quantize-huge.json
# And with oneDNN uncapped, as Python runs by default.
env -u ONEDNN_MAX_CPU_ISA "$torch_python" tests/bench/peer_quantize.py build/bench/bert_bench.pt \
  build/bench/quantize/model.pt 16 128 8000 "$runs" build/bench/peer_int8.pt build/bench/quantize-fp32-matmuls/model.pt > build/bench/peer-quantize-uncapped.json

"$torch_python" - <<'PY'
import json
r = json.load(open("build/bench/llmc-quantize.json"))
p = json.load(open("build/bench/peer-quantize.json"))
o, q = r["original"], r["result"]
print()
print("llmc's own run (original = the scripted model in eval mode, fp32):")
print(f"  p50 {o['latency']['p50_ms']:.1f} ms -> {q['latency']['p50_ms']:.1f} ms: {r['comparison']['speedup']:.2f}x faster")
print(f"  file {o['file_bytes']/2**20:.2f} MiB -> {q['file_bytes']/2**20:.2f} MiB: {r['comparison']['size_ratio']:.3f}x")
print(f"  label agreement {r['agreement']['label_agreement']}, cosine {r['agreement']['cosine']:.5f}; "
      f"attention products (activation_matmuls: auto): {r['details']['activation_matmuls']}; oneDNN ISA {r['details']['onednn_isa']}")
b = json.load(open("build/bench/llmc-quantize-fp32-matmuls.json"))
print(f"  with activation_matmuls: fp32: p50 {b['original']['latency']['p50_ms']:.1f} ms -> {b['result']['latency']['p50_ms']:.1f} ms: "
      f"{b['comparison']['speedup']:.2f}x faster; label agreement {b['agreement']['label_agreement']}, cosine {b['agreement']['cosine']:.5f}")
print()
print(f"  tensor memory: huge pages {r['provenance']['huge_pages']}")
a = json.load(open("build/bench/llmc-quantize-isa-all.json"))
print(f"  with onednn_isa: all (oneDNN {a['details']['onednn_isa']}, products {a['details']['activation_matmuls']}): p50 {a['original']['latency']['p50_ms']:.1f} ms -> "
      f"{a['result']['latency']['p50_ms']:.1f} ms: {a['comparison']['speedup']:.2f}x faster")
s = json.load(open("build/bench/llmc-quantize-small-pages.json"))
print(f"  with LLMC_HUGE_PAGES=0: p50 {s['original']['latency']['p50_ms']:.1f} ms -> {s['result']['latency']['p50_ms']:.1f} ms: {s['comparison']['speedup']:.2f}x faster")
print()
for label, f in (("default malloc", "peer-quantize.json"), ("GLIBC_TUNABLES=glibc.malloc.hugetlb=1", "peer-quantize-huge.json"),
                 ("default malloc, oneDNN uncapped", "peer-quantize-uncapped.json")):
    x = json.load(open(f"build/bench/{f}"))
    print(f"one Python process, {label}, alternating runs (fp32 frozen, peer int8, llmc int8 default, llmc int8 with fp32 attention products):")
    print(f"  fp32 frozen {x['fp32_frozen']:.1f} ms | peer int8 {x['peer_int8']:.1f} ms | llmc int8 {x['llmc_int8']:.1f} ms | llmc int8, fp32 products {x['llmc_int8_2']:.1f} ms")
    print(f"  llmc int8 / peer int8 = {x['llmc_int8'] / x['peer_int8']:.3f} (like for like, fp32 products: {x['llmc_int8_2'] / x['peer_int8']:.3f})   "
          f"fp32 / llmc int8 = {x['fp32_frozen'] / x['llmc_int8']:.2f}x")
print(f"  label agreement with fp32: peer {p['peer_label_agreement']:.3f}, llmc {p['llmc_label_agreement']:.3f}")
print(f"  file: peer {p['peer_bytes']/2**20:.2f} MiB, llmc {q['file_bytes']/2**20:.2f} MiB")
print()
for name in ("bf16", "static"):
    x = json.load(open(f"build/bench/llmc-{name}.json"))
    print(f"llmc {x['details']['scheme']}: p50 {x['original']['latency']['p50_ms']:.1f} -> {x['result']['latency']['p50_ms']:.1f} ms "
          f"({x['comparison']['speedup']:.2f}x), file {x['comparison']['size_ratio']:.3f}x, "
          f"label agreement {x['agreement']['label_agreement']}, cosine {x['agreement']['cosine']:.5f}")
PY

# Agreement on held-out data of a trained model: the debtags teacher (teacher-continue.yaml's
# output, else teacher.yaml's) when it has been trained; another with LLMC_QUANTIZE_MODEL=path.
deb=${LLMC_DEBTAGS:-build/debtags}
model=${LLMC_QUANTIZE_MODEL:-$deb/out/teacher-continued/model.pt}
[ -f "$model" ] || model=$deb/out/teacher/model.pt
if [ -f "$model" ]; then
  ./build/tools/llmc quantize tests/bench/quantize-debtags.yaml --force -q --json --set model="$model" \
    > build/bench/llmc-quantize-debtags.json
  ./build/tools/llmc quantize tests/bench/quantize-debtags.yaml --force -q --json --set model="$model" \
    --out build/bench/quantize-debtags-fp32-matmuls --set quantize.activation_matmuls=fp32 > build/bench/llmc-quantize-debtags-fp32-matmuls.json
  "$torch_python" - <<'PY'
import json
for f, label in (("llmc-quantize-debtags.json", "dynamic-int8 + 8-bit embeddings (activation_matmuls: auto)"),
                 ("llmc-quantize-debtags-fp32-matmuls.json", "the same with activation_matmuls: fp32")):
    r = json.load(open(f"build/bench/{f}"))
    print(f"\ntrained debtags teacher ({r['original']['path']}), {label}, {r['inputs']['rows']} held-out packages "
          f"(20 labels, a row agrees when its whole predicted label set is the same):")
    print(f"  label agreement {r['agreement']['label_agreement']:.4f}, cosine {r['agreement']['cosine']:.5f}; "
          f"Jaccard {r['original']['metrics']['jaccard_samples']:.4f} -> {r['result']['metrics']['jaccard_samples']:.4f}; "
          f"file {r['comparison']['size_ratio']:.3f}x; p50 {r['comparison']['speedup']:.2f}x faster (batches padded to their longest text)")
PY
else
  echo "(no trained debtags teacher at $model: agreement on held-out data skipped)"
fi

# The trained causal LM of recipes/examples/debtags-lm, when it exists: every scheme, judged by
# perplexity and next-token agreement on 1 024 held-out packages.
lm=${LLMC_QUANTIZE_LM:-$deb/out/lm/model.pt}
if [ -f "$lm" ]; then
  for scheme in dynamic-int8 static-int8 bf16 fp16; do
    extra=()
    # static-int8 calibrates on training packages, not on the packages it is judged on.
    [ "$scheme" = static-int8 ] && extra=(--set "quantize.calibration_data={path: $deb/train.jsonl, text: text, tokenizer: $deb/spm.model, max_length: 128, batch_size: 16, max_samples: 128}")
    # 8-bit embedding tables are an int8 option; bf16 and fp16 cast the whole model.
    case $scheme in bf16|fp16) extra+=(--set quantize.embeddings=false) ;; esac
    ./build/tools/llmc quantize tests/bench/quantize-debtags-lm.yaml --force -q --json --set model="$lm" \
      --out "build/bench/quantize-lm-$scheme" --set quantize.scheme=$scheme "${extra[@]}" > "build/bench/quantize-lm-$scheme.json"
  done
  "$torch_python" - <<'PY'
import json
print("\ntrained causal LM (debtags-lm), 1024 held-out packages, batch 16 x 128, 1 thread (int8 schemes with 8-bit embeddings):")
print("| scheme | perplexity (fp32 -> result) | next-token agreement | p50 speed-up | file |")
for scheme in ("dynamic-int8", "static-int8", "bf16", "fp16"):
    r = json.load(open(f"build/bench/quantize-lm-{scheme}.json"))
    print(f"| {scheme} | {r['original']['metrics']['perplexity']:.2f} -> {r['result']['metrics']['perplexity']:.2f} | "
          f"{r['agreement']['label_agreement']:.4f} | {r['comparison']['speedup']:.2f}x | {r['comparison']['size_ratio']:.3f}x |")
PY
else
  echo "(no trained language model at $lm (recipes/examples/debtags-lm/run.sh): LM table skipped)"
fi

# LSTMs: an LSTM classifier (embedding 8000 x 256, 2-layer bidirectional LSTM, hidden 512) at
# batch 16 x 128; the peer is PyTorch's eager quantize_dynamic ({LSTM, Linear}), timed in one
# Python process with llmc's artifact, under llmc's deploy_env and the heap tunable llmc runs with.
"$torch_python" tests/bench/peer_quantize_lstm.py make build/bench/lstm_bench.pt
./build/tools/llmc quantize tests/bench/quantize-lstm-bench.yaml --force -q --json > build/bench/llmc-lstm.json
lstm_env=$("$torch_python" -c "import json; print(json.load(open('build/bench/llmc-lstm.json'))['details'].get('deploy_env', ''))")
env $lstm_env GLIBC_TUNABLES=glibc.malloc.hugetlb=1 "$torch_python" tests/bench/peer_quantize_lstm.py peer \
  build/bench/quantize-lstm/model.pt 5 build/bench/peer_lstm_int8.pt > build/bench/peer-lstm.json
"$torch_python" - <<'PY'
import json
r = json.load(open("build/bench/llmc-lstm.json"))
p = json.load(open("build/bench/peer-lstm.json"))
print("\nLSTM classifier (2-layer bidirectional, hidden 512), batch 16 x 128, dynamic-int8:")
print(f"  llmc's own report: p50 {r['original']['latency']['p50_ms']:.1f} -> {r['result']['latency']['p50_ms']:.1f} ms "
      f"({r['comparison']['speedup']:.2f}x), file {r['comparison']['size_ratio']:.3f}x, cosine {r['agreement']['cosine']:.5f}")
print(f"  one Python process, alternating: fp32 frozen {p['fp32_frozen']:.1f} ms | peer int8 {p['peer_int8']:.1f} ms | "
      f"llmc int8 {p['llmc_int8']:.1f} ms; llmc / peer = {p['llmc_int8'] / p['peer_int8']:.3f}")
print(f"  max |int8 - fp32| of the logits: peer {p['peer_int8_max_abs_diff']:.5f}, llmc {p['llmc_int8_max_abs_diff']:.5f}; "
      f"file: peer {p['peer_bytes'] / 2**20:.2f} MiB, llmc {r['result']['file_bytes'] / 2**20:.2f} MiB")
PY
