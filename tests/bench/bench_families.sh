#!/usr/bin/env bash
# Benchmarks of the Hugging Face layouts (docs/models.md), each against its peer in the same
# run. Measures and prints; asserts nothing.
#   1. GPT-2 (Conv1D, fused c_attn, tied lm_head; hidden 256, 4 layers, and hidden 768, 6 layers;
#      vocab 8000), batch 16 x 128: llmc quantize dynamic-int8 with 8-bit embeddings against
#      float32, and against PyTorch's quantize_dynamic on the same weights with Conv1D swapped
#      for nn.Linear, timed alternately in one Python process with the frozen trace and llmc
#      eval-freeze's float32 artifact (tests/bench/peer_quantize_gpt2.py);
#   2. LLaMA (RMSNorm, RoPE, GQA, gated MLP; three sizes up to TinyLlama's proportions at hidden
#      1024): llmc prune structured.ffn 50 % against the original in llmc's own run.
# The models come from tests/bench/make_hf_bench.py. For magnitude vs Wanda on a trained
# LLaMA-layout language model: LLMC_LM_LAYOUT=llama bash recipes/examples/debtags-lm/run.sh, then
# LLMC_PRUNE_LM=build/debtags/out/lm_llama/model.pt bash tests/bench/bench_prune.sh.
# Usage: bash tests/bench/bench_families.sh [RUNS]
no_model_line=1
source "$(dirname "$0")/setup.sh" "$@"
for m in gpt2_bench.pt gpt2_wide_bench.pt llama_bench.pt llama_deep_bench.pt llama_wide_bench.pt; do
  [ -f "build/bench/$m" ] || "$torch_python" tests/bench/make_hf_bench.py build/bench "$m" 2>/dev/null
done
echo "settings: 1 LibTorch intra-op thread, OpenBLAS 1 thread, quantized engine onednn (both sides); $runs timed runs${OPENBLAS_CORETYPE:+, OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE}"

for gpt in gpt2_bench gpt2_wide_bench; do
  ./build/tools/llmc quantize tests/bench/quantize-gpt2-bench.yaml --force -q --json --out "build/bench/quantize-$gpt" \
    --set model="build/bench/$gpt.pt" --set bench.runs="$runs" > "build/bench/llmc-quantize-$gpt.json"
  ./build/tools/llmc eval-freeze tests/bench/eval-freeze-gpt2-bench.yaml --force -q --json --out "build/bench/eval-freeze-$gpt" \
    --set model="build/bench/$gpt.pt" > "build/bench/llmc-eval-freeze-$gpt.json"
  deploy_env=$("$torch_python" -c "import json, sys; print(json.load(open(sys.argv[1]))['details'].get('deploy_env', ''))" \
    "build/bench/llmc-quantize-$gpt.json")
  env $deploy_env "$torch_python" tests/bench/peer_quantize_gpt2.py "build/bench/$gpt.pt" \
    "build/bench/quantize-$gpt/model.pt" 16 128 "$runs" "build/bench/peer_${gpt}_int8.pt" \
    "build/bench/eval-freeze-$gpt/model.pt" > "build/bench/peer-quantize-$gpt.json"
done
for llama in llama_bench llama_deep_bench llama_wide_bench; do
  ./build/tools/llmc prune tests/bench/prune-llama-bench.yaml --force -q --json --out "build/bench/prune-$llama" \
    --set model="build/bench/$llama.pt" --set bench.runs="$runs" > "build/bench/llmc-prune-$llama.json"
done

"$torch_python" - <<'PY'
import json
print("\n1. GPT-2 layout (traced; Conv1D, fused c_attn, tied lm_head), dynamic-int8 with 8-bit embeddings")
for gpt, what in (("gpt2_bench", "hidden 256, 4 layers, 4 heads, intermediate 1024"),
                  ("gpt2_wide_bench", "hidden 768, 6 layers, 12 heads, intermediate 3072")):
    r = json.load(open(f"build/bench/llmc-quantize-{gpt}.json"))
    p = json.load(open(f"build/bench/peer-quantize-{gpt}.json"))
    o, q, d = r["original"], r["result"], r["details"]
    ml = d["matrix_layers"]
    print(f"   {what}:")
    print(f"     llmc's run: p50 {o['latency']['p50_ms']:.1f} -> {q['latency']['p50_ms']:.1f} ms: "
          f"{r['comparison']['speedup']:.2f}x faster; file {o['file_bytes']/2**20:.2f} -> {q['file_bytes']/2**20:.2f} MiB: "
          f"{r['comparison']['size_ratio']:.3f}x; oneDNN ISA {d['onednn_isa']}; tanh GELUs fused {d.get('fused_gelu')}")
    print(f"     matrix layers quantized: {ml['quantized']} of {ml['found']}")
    print(f"     one Python process, alternating: fp32 (frozen trace) {p['fp32_frozen']:.1f} ms, "
          f"llmc eval-freeze fp32 {p['llmc_fp32_frozen']:.1f} ms, "
          f"PyTorch quantize_dynamic {p['peer_int8']:.1f} ms ({p['fp32_frozen']/p['peer_int8']:.2f}x), "
          f"llmc {p['llmc_int8']:.1f} ms ({p['fp32_frozen']/p['llmc_int8']:.2f}x; "
          f"{p['llmc_fp32_frozen']/p['llmc_int8']:.2f}x llmc's own fp32); "
          f"llmc/peer time {p['llmc_int8']/p['peer_int8']:.3f}")
    print(f"     next-token agreement with fp32: llmc {p['llmc_int8_next_token_agreement']:.4f}, "
          f"peer {p['peer_int8_next_token_agreement']:.4f}, llmc fp32 {p['llmc_fp32_frozen_next_token_agreement']:.4f}; "
          f"peer file {p['peer_bytes']/2**20:.2f} MiB ({p['peer_bytes']/o['file_bytes']:.3f}x)")
print("\n2. LLaMA layout (traced; GQA, gated MLP), structured ffn 50 %")
for name, what in (("llama_bench", "hidden 256, 4 layers, intermediate 688"),
                   ("llama_deep_bench", "hidden 512, 8 layers, intermediate 1376"),
                   ("llama_wide_bench", "hidden 1024, 8 layers, 16 on 4 heads, intermediate 2816")):
    r = json.load(open(f"build/bench/llmc-prune-{name}.json"))
    o, s = r["original"], r["result"]
    print(f"   {what}: p50 {o['latency']['p50_ms']:.1f} -> {s['latency']['p50_ms']:.1f} ms: "
          f"{r['comparison']['speedup']:.2f}x faster; parameters {o['parameter_count']} -> {s['parameter_count']}; "
          f"file {r['comparison']['size_ratio']:.3f}x")
PY
