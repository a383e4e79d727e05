#!/usr/bin/env python3
"""The models of the ONNX speed comparison per family (tests/bench/bench_onnx_families.sh): each
built in the Hugging Face layout of tests/fixtures/hf_models.py at benchmark size (hidden 256,
4 layers, 4 heads, intermediate 1024, vocab 8000), traced (and BERT also scripted) as users
export them, and the peer file torch.onnx.export (python3-torch 1.13, opset 17, batch and
sequence axes dynamic) writes from the same eager model.

Usage: /usr/bin/python3 make_onnx_peers.py OUTDIR [FAMILY ...]
  families: bert distilbert gpt2 llama (traced), bert_scripted
Writes OUTDIR/FAMILY.pt (TorchScript for llmc) and OUTDIR/FAMILY.peer.onnx."""
import contextlib
import os
import sys

import torch

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "fixtures"))
sys.path.insert(0, here)
import hf_models  # noqa: E402
from make_hf_bench import BENCH  # noqa: E402

torch.set_num_threads(1)
out = sys.argv[1]
families = sys.argv[2:] or ["bert", "bert_scripted", "distilbert", "gpt2", "llama"]
os.makedirs(out, exist_ok=True)
batch, seq = 16, 128
ids = torch.randint(1, BENCH["vocab"], (batch, seq), generator=torch.Generator().manual_seed(1))
mask = torch.ones(batch, seq, dtype=torch.long)
for fam in families:
    base = fam.replace("_scripted", "")
    model = hf_models.make_model(base, c=BENCH)
    with torch.no_grad():
        if fam.endswith("_scripted"):
            ts = torch.jit.script(model)
        else:
            ts = torch.jit.trace(model, (ids, mask), check_trace=False)
    ts.save(os.path.join(out, fam + ".pt"))
    with torch.no_grad(), contextlib.redirect_stdout(sys.stderr):
        torch.onnx.export(model, (ids, mask), os.path.join(out, fam + ".peer.onnx"),
                          opset_version=17, input_names=["input_ids", "attention_mask"],
                          output_names=["logits"],
                          dynamic_axes={"input_ids": {0: "batch", 1: "sequence"},
                                        "attention_mask": {0: "batch", 1: "sequence"},
                                        "logits": {0: "batch"}})
    print(f"{fam}: {sum(p.numel() for p in model.parameters()) / 1e6:.1f} M parameters", file=sys.stderr)
