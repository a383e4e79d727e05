#!/usr/bin/env python3
"""Writes a fresh (untrained) GPT-style causal language model for the debtags package
descriptions, scripted with Debian's python3-torch (nothing is downloaded): the project's
CausalLM (tests/fixtures/make_fixtures.py: pre-LayerNorm blocks, fused qkv, tied output
embedding) at the benchmark encoder's size — hidden 256, 4 layers, 4 heads, intermediate 1024 —
with the SentencePiece vocabulary of recipes/examples/debtags/build_dataset.py (8000) and 128
positions. GPT-2's initialisation: N(0, 0.02) weights, zero biases.

Usage: /usr/bin/python3 make_model.py OUTDIR   (writes OUTDIR/lm.pt)
"""
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "tests", "fixtures"))
from make_fixtures import make_lm  # noqa: E402  the project's GPT definition

CONFIG = dict(vocab=8000, hidden=256, layers=4, heads=4, inter=1024, max_pos=128)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "."
    os.makedirs(out, exist_ok=True)
    m = make_lm(CONFIG, seed=12)
    s = torch.jit.script(m).train()
    torch.jit.save(s, os.path.join(out, "lm.pt"))
    n = sum(p.numel() for p in m.parameters())
    print(f"wrote {os.path.join(out, 'lm.pt')} ({n} parameters)", file=sys.stderr)


if __name__ == "__main__":
    main()
