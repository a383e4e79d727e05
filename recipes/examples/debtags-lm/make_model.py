#!/usr/bin/env python3
"""Writes a fresh (untrained) causal language model for the debtags package descriptions, with
Debian's python3-torch (nothing is downloaded), at the benchmark encoder's size — hidden 256,
4 layers, 4 heads — with the SentencePiece vocabulary of recipes/examples/debtags/build_dataset.py
(8000) and 128 positions, in one of two layouts:

  gpt    (default, OUTDIR/lm.pt) the project's CausalLM (tests/fixtures/make_fixtures.py:
         pre-LayerNorm blocks, fused qkv, tied output embedding), intermediate 1024, GPT-2's
         initialisation (N(0, 0.02) weights, zero biases); scripted.
  llama  (OUTDIR/lm_llama.pt) Hugging Face's LlamaForCausalLM layout
         (tests/fixtures/hf_models.py: RMSNorm, RoPE, grouped-query attention with 2 key/value
         heads, SiLU-gated MLP gate_proj/up_proj -> down_proj, untied lm_head), intermediate 688
         (about 8/3 x hidden, as LLaMA sizes it); HF's initialisation; traced, as transformers
         users export it.

Usage: /usr/bin/python3 make_model.py OUTDIR [--layout gpt|llama]
"""
import argparse
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "tests", "fixtures"))
from make_fixtures import make_lm  # noqa: E402  the project's GPT definition
import hf_models  # noqa: E402  the Hugging Face layouts

CONFIG = dict(vocab=8000, hidden=256, layers=4, heads=4, inter=1024, max_pos=128)
LLAMA = dict(hf_models.CFG, vocab=8000, hidden=256, layers=4, heads=4, kv_heads=2,
             llama_inter=688, max_pos=128)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir", nargs="?", default=".")
    ap.add_argument("--layout", choices=["gpt", "llama"], default="gpt")
    args = ap.parse_args()
    os.makedirs(args.outdir, exist_ok=True)
    if args.layout == "gpt":
        m = make_lm(CONFIG, seed=12)
        s = torch.jit.script(m).train()
        path = os.path.join(args.outdir, "lm.pt")
    else:
        m = hf_models.make_model("llama", c=LLAMA)
        ids = torch.randint(1, LLAMA["vocab"], (2, 16), generator=torch.Generator().manual_seed(1))
        mask = torch.ones(2, 16, dtype=torch.long)
        mask[1, 12:] = 0
        other = (torch.randint(1, LLAMA["vocab"], (3, 9), generator=torch.Generator().manual_seed(2)),
                 torch.ones(3, 9, dtype=torch.long))
        with torch.no_grad():
            s = torch.jit.trace(m, (ids, mask), check_inputs=[other]).train()
        path = os.path.join(args.outdir, "lm_llama.pt")
    torch.jit.save(s, path)
    n = sum(p.numel() for p in m.parameters())
    print(f"wrote {path} ({n} parameters)", file=sys.stderr)


if __name__ == "__main__":
    main()
