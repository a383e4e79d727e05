#!/usr/bin/env python3
"""LLaMA-layout language models at three sizes for the scale benchmark (tests/bench/bench_scale.sh),
in the Hugging Face layout of tests/fixtures/hf_models.py (RMSNorm, RoPE, grouped-query attention,
SiLU-gated MLP), random HF initialisation, traced as transformers users export them. Nothing is
downloaded. Vocabulary 32 000, 4 key/value heads, intermediate ≈ 2.75 × hidden as TinyLlama:

  scale_s.pt    hidden 768, 12 layers, 12 heads, intermediate 2048            (≈ 124 M parameters)
  scale_m.pt    hidden 1024, 24 layers, 16 heads, intermediate 2816           (≈ 336 M)
  scale_l.pt    TinyLlama-1.1B's shape: hidden 2048, 22 layers, 32 heads,
                intermediate 5632                                             (≈ 1.1 B)

Usage: /usr/bin/python3 make_scale_models.py OUTDIR [NAME ...]   (default: all three)
Also writes OUTDIR/scale_lm.jsonl: 8 rows of 128 random token ids (distill's data).
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
import hf_models  # noqa: E402

BASE = dict(hf_models.CFG, vocab=32000, kv_heads=4, max_pos=256)
SIZES = {
    "scale_s.pt": dict(BASE, hidden=768, layers=12, heads=12, llama_inter=2048),
    "scale_m.pt": dict(BASE, hidden=1024, layers=24, heads=16, llama_inter=2816),
    "scale_l.pt": dict(BASE, hidden=2048, layers=22, heads=32, llama_inter=5632),
}


def main():
    out = sys.argv[1]
    names = sys.argv[2:] or list(SIZES)
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(2)
    g = torch.Generator().manual_seed(0)
    with open(os.path.join(out, "scale_lm.jsonl"), "w") as f:
        for _ in range(8):
            ids = torch.randint(1, BASE["vocab"], (128,), generator=g).tolist()
            f.write(json.dumps({"input_ids": ids, "attention_mask": [1] * 128}) + "\n")
    for name in names:
        path = os.path.join(out, name)
        if os.path.exists(path):
            continue
        model = hf_models.make_model("llama", c=SIZES[name])
        ids = torch.randint(1, BASE["vocab"], (1, 16), generator=g)
        mask = torch.ones(1, 16, dtype=torch.long)
        with torch.no_grad():
            traced = torch.jit.trace(model, (ids, mask), check_trace=False)
        del model
        torch.jit.save(traced, path + ".tmp")
        os.replace(path + ".tmp", path)
        n = sum(p.numel() for p in traced.parameters())
        print(f"wrote {path} ({n} parameters)", file=sys.stderr)
        del traced


if __name__ == "__main__":
    main()
