#!/usr/bin/env bash
# Benchmark of `llmc eval-freeze` on the BERT-style encoder at batch 16 x 128, with the Python
# peer (torch.jit.freeze / optimize_for_inference from Debian's python3-torch) in the same run.
# Measures and prints; it asserts nothing. Usage: bash tests/bench/bench_eval_freeze.sh [RUNS]
source "$(dirname "$0")/setup.sh" "$@"
echo "settings: 1 thread: 1 LibTorch intra-op thread, OpenBLAS 1 thread (llmc sets it; the peer runs with OPENBLAS_NUM_THREADS=1)${OPENBLAS_CORETYPE:+, OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE}"

./build/tools/llmc eval-freeze tests/bench/eval-freeze-bench.yaml --force -q --json \
  --set bench.runs="$runs" > build/bench/llmc.json
./build/tools/llmc eval-freeze tests/bench/eval-freeze-bench.yaml --force -q --json \
  --set bench.runs="$runs" --set eval_freeze.optimize_for_inference=true \
  --out build/bench/eval-freeze-optimized > build/bench/llmc-optimized.json
OPENBLAS_NUM_THREADS=1 "$torch_python" tests/bench/peer_eval_freeze.py build/bench/bert_bench.pt \
  16 128 8000 "$runs" > build/bench/peer.json

"$torch_python" - <<'PY'
import json
llmc = json.load(open("build/bench/llmc.json"))
optimized = json.load(open("build/bench/llmc-optimized.json"))
peer = json.load(open("build/bench/peer.json"))
def p50(r, side): return r[side]["latency"]["p50_ms"]
print()
print("| what | p50 ms | ratio to its baseline |")
print("| --- | ---: | ---: |")
print(f"| llmc: original in eval mode | {p50(llmc, 'original'):.1f} | 1.00 |")
print(f"| llmc: eval-freeze (default: freeze) | {p50(llmc, 'result'):.1f} | {p50(llmc, 'result') / p50(llmc, 'original'):.3f} |")
d = llmc["details"]
print(f"| llmc: original as loaded (training mode, dropout active) | {d['as_loaded_p50_ms']:.1f} | 1.00 |")
print(f"| llmc: eval-freeze vs as loaded (same alternating run) | {d['artifact_p50_ms_vs_as_loaded']:.1f} | {1 / d['speedup_vs_as_loaded']:.3f} |")
print(f"| llmc: original in eval mode (second run) | {p50(optimized, 'original'):.1f} | 1.00 |")
print(f"| llmc: eval-freeze with optimize_for_inference | {p50(optimized, 'result'):.1f} | {p50(optimized, 'result') / p50(optimized, 'original'):.3f} |")
print(f"| peer: as loaded (training mode, dropout active) | {peer['as_loaded']:.1f} | {peer['as_loaded'] / peer['eval']:.3f} |")
print(f"| peer: eval mode | {peer['eval']:.1f} | 1.00 |")
print(f"| peer: torch.jit.freeze | {peer['frozen']:.1f} | {peer['frozen'] / peer['eval']:.3f} |")
print(f"| peer: freeze + optimize_for_inference | {peer['frozen_optimized']:.1f} | {peer['frozen_optimized'] / peer['eval']:.3f} |")
print(f"| llmc frozen vs peer frozen | | {p50(llmc, 'result') / peer['frozen']:.3f} |")
print(f"| llmc frozen vs peer as loaded (training mode) | | {p50(llmc, 'result') / peer['as_loaded']:.3f} |")
a = llmc["agreement"]
print(f"\nagreement with the original in eval mode: max abs diff {a['max_abs_diff']:.3g}, label agreement {a['label_agreement']}")
print(f"memory (peak RSS of a process running the model): original {llmc['original']['memory']['peak_rss_bytes']/2**20:.0f} MiB, frozen {llmc['result']['memory']['peak_rss_bytes']/2**20:.0f} MiB")
PY
