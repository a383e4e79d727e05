#!/usr/bin/env bash
# Benchmark of `llmc export-onnx`: ONNX Runtime latency of llmc's file for the BERT-style encoder
# (batch 16 x 128) against the file torch.onnx.export (python3-torch, opset 17) writes for the same
# weights, both timed in one ONNX Runtime process, alternating. Measures and prints; asserts
# nothing. Usage: bash tests/bench/bench_export_onnx.sh [RUNS] [THREADS]
source "$(dirname "$0")/setup.sh" "$@"
threads=${2:-1}
echo "settings: ONNX Runtime (onnxruntime-node) with $threads intra-op thread(s), 1 inter-op, all graph optimizations"
./build/tools/llmc export-onnx tests/bench/export-onnx-bench.yaml --force -q --json > build/bench/export-onnx.json
"$torch_python" tests/bench/peer_export_onnx.py build/bench/bert_bench.pt build/bench/peer.onnx 2>/dev/null
node tests/bench/ort_compare.cjs build/bench/export-onnx/model.onnx build/bench/peer.onnx "$runs" "$threads" > build/bench/ort-compare.json
"$torch_python" - <<'PY'
import json, os
r = json.load(open("build/bench/ort-compare.json"))
rep = json.load(open("build/bench/export-onnx.json"))
d = rep["details"]
print(f"llmc file: {os.path.getsize('build/bench/export-onnx/model.onnx') / 2**20:.2f} MiB, {d['nodes']} nodes, "
      f"verified max abs diff {d['verification']['max_abs_diff']:.2e}")
print(f"torch.onnx.export file: {os.path.getsize('build/bench/peer.onnx') / 2**20:.2f} MiB")
print(f"ONNX Runtime {r['ort_version']}, p50: llmc {r['a_p50_ms']:.2f} ms, torch.onnx.export {r['b_p50_ms']:.2f} ms: "
      f"llmc is {r['b_over_a']:.3f}x the peer's speed (>= 1 means no slower); outputs differ by {r['max_abs_diff_outputs']:.2e}")
print(f"(LibTorch on the TorchScript original: p50 {rep['original']['latency']['p50_ms']:.2f} ms; "
      f"ONNX Runtime on llmc's file inside llmc's report: {rep['result']['latency']['p50_ms']:.2f} ms)")
PY
