#!/usr/bin/env python3
"""How fast dynamic int8 can get on this machine, in one Python process (python3-torch 1.13,
onednn, 1 thread; run with OPENBLAS_NUM_THREADS=1): the benchmark encoder in fp32 (eager and
frozen), PyTorch's eager quantize_dynamic, the same with bf16 autocast around everything the
int8 Linears do not cover, and llmc's int8 artifact, timed alternately run by run.
Usage: OPENBLAS_NUM_THREADS=1 python3 tests/bench/int8_ceiling.py BERT_BENCH_PT LLMC_INT8_PT [RUNS]"""
import os
import sys
import time

import torch
import torch.ao.nn.quantized.dynamic as nnqd

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "fixtures"))
from make_fixtures import BENCH, example_inputs, make_bert  # noqa: E402

torch.set_num_threads(1)
torch.backends.quantized.engine = "onednn"
scripted = torch.jit.load(sys.argv[1]).eval()
model = make_bert(BENCH).eval()
model.load_state_dict(scripted.state_dict())
ids, mask = example_inputs(BENCH, 16, 128)
int8 = torch.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
llmc = torch.jit.load(sys.argv[2]).eval()
frozen = torch.jit.freeze(torch.jit.script(model).eval())
runs = int(sys.argv[3]) if len(sys.argv) > 3 else 15

_forward = nnqd.Linear.forward
def hybrid():
    # quantized Linears take float32; everything else under bf16 autocast
    nnqd.Linear.forward = lambda self, x: _forward(self, x.float())
    try:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return int8(ids, mask)
    finally:
        nnqd.Linear.forward = _forward

variants = {"fp32 eager": lambda: model(ids, mask), "fp32 frozen": lambda: frozen(ids, mask),
            "int8 eager (quantize_dynamic)": lambda: int8(ids, mask),
            "int8 + bf16 autocast": hybrid, "llmc int8 artifact": lambda: llmc(ids, mask)}
times = {k: [] for k in variants}
with torch.no_grad():
    for f in variants.values():
        for _ in range(3):
            f()
    for _ in range(runs):
        for k, f in variants.items():
            t = time.perf_counter()
            f()
            times[k].append((time.perf_counter() - t) * 1000)
p50 = {k: sorted(v)[len(v) // 2] for k, v in times.items()}
for k, v in p50.items():
    print(f"{k}: p50 {v:.1f} ms ({p50['fp32 frozen'] / v:.2f}x the frozen fp32)")
