#!/usr/bin/env python3
"""Writes the debtags teacher and student: fresh (untrained) HF-style BERT encoder classifiers
with 20 sigmoid outputs, scripted with Debian's python3-torch (nothing is downloaded).

  teacher.pt  hidden 256, 4 layers, 4 heads, intermediate 1024
  student.pt  hidden 128, 2 layers, 2 heads, intermediate 512
Both: vocabulary 8000 (the SentencePiece model of build_dataset.py), 128 positions.
Usage: /usr/bin/python3 make_models.py OUTDIR
"""
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "tests", "fixtures"))
from make_fixtures import make_bert  # noqa: E402  the project's BERT definition

TEACHER = dict(vocab=8000, hidden=256, layers=4, heads=4, inter=1024, max_pos=128, labels=20)
STUDENT = dict(vocab=8000, hidden=128, layers=2, heads=2, inter=512, max_pos=128, labels=20)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "."
    os.makedirs(out, exist_ok=True)
    for name, cfg, seed in (("teacher.pt", TEACHER, 10), ("student.pt", STUDENT, 11)):
        m = torch.jit.script(make_bert(cfg, seed=seed)).train()
        torch.jit.save(m, os.path.join(out, name))
        n = sum(p.numel() for p in m.parameters())
        print(f"wrote {os.path.join(out, name)} ({n} parameters)", file=sys.stderr)


if __name__ == "__main__":
    main()
