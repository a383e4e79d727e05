#!/usr/bin/env bash
# ONNX speed per model family: llmc's file against the one torch.onnx.export (python3-torch 1.13,
# opset 17, batch and sequence dynamic) writes from the same eager model, both timed in one
# ONNX Runtime process, alternating run by run (tests/bench/ort_compare.cjs), after ORT's full
# graph optimizations; then the op types of each optimized graph compared
# (tests/bench/ort_fusions.cjs: which fusions fire on one file and not the other). Families in
# the Hugging Face layouts of tests/fixtures/hf_models.py at benchmark size (hidden 256, 4
# layers, vocab 8000): BERT traced and scripted, DistilBERT, GPT-2 and LLaMA traced
# (tests/bench/make_onnx_peers.py). Batch 16 x 128. Measures and prints; asserts nothing.
# Usage: bash tests/bench/bench_onnx_families.sh [RUNS] [THREADS]
no_model_line=1
source "$(dirname "$0")/setup.sh" "${1:-20}"
threads=${2:-1}
dir=build/bench/onnxfam
families=(bert bert_scripted distilbert gpt2 llama)
mkdir -p "$dir"
for f in "${families[@]}"; do
  [ -f "$dir/$f.pt" ] && [ -f "$dir/$f.peer.onnx" ] || "$torch_python" tests/bench/make_onnx_peers.py "$dir" "$f" 2>/dev/null
done
echo "settings: ONNX Runtime (onnxruntime-node) with $threads intra-op thread(s), 1 inter-op, all graph optimizations; batch 16 x 128; $runs timed runs each, alternating"
printf '%-14s %12s %12s %10s %16s  %s\n' family "llmc p50" "peer p50" "llmc speed" "nodes (optim.)" "optimized op counts that differ (llmc, peer)"
for f in "${families[@]}"; do
  LLMC_ONNX_FAMILY_DIR="$PWD/$dir" LLMC_ONNX_FAMILY=$f \
    ./build/tools/llmc export-onnx tests/bench/export-onnx-family.yaml --force -q --json > "$dir/$f-report.json" 2> "$dir/$f-export.err"
  node tests/bench/ort_compare.cjs "$dir/$f-llmc/model.onnx" "$dir/$f.peer.onnx" "$runs" "$threads" 16 128 8000 > "$dir/$f-time.json" 2>/dev/null
  node tests/bench/ort_fusions.cjs "$dir/$f-llmc/model.onnx" "$dir/$f.peer.onnx" "$dir/$f-optimized" > "$dir/$f-ops.json" 2>/dev/null
  "$torch_python" - "$f" "$dir" <<'PY'
import json, sys
f, d = sys.argv[1], sys.argv[2]
t = json.load(open(f"{d}/{f}-time.json"))
o = json.load(open(f"{d}/{f}-ops.json"))
differ = ", ".join(f"{op} {a}/{b}" for op, (a, b) in o["optimized_ops_that_differ"].items()) or "none"
nodes = f"{o['nodes']['a'][1]} / {o['nodes']['b'][1]}"
# speed ratio: the peer's time over llmc's (>= 1: llmc's file is no slower)
print(f"{f:14} {t['a_p50_ms']:9.2f} ms {t['b_p50_ms']:9.2f} ms {t['b_over_a']:9.3f}x {nodes:>16}  {differ}"
      f"   (outputs differ by {t['max_abs_diff_outputs']:.1e})")
PY
done
