"""The Python peer for the eval-freeze benchmark: the same model and inputs through PyTorch's own
torch.jit.freeze / optimize_for_inference, timed alternately run by run.

Usage: OPENBLAS_NUM_THREADS=1 /usr/bin/python3 peer_eval_freeze.py MODEL.pt BATCH SEQ VOCAB RUNS
Prints one JSON object: p50 latency in ms of each variant.
"""
import json
import statistics
import sys
import time

import torch


def main():
    path, batch, seq, vocab, runs = sys.argv[1], *map(int, sys.argv[2:6])
    torch.set_num_threads(1)
    torch.manual_seed(0)
    ids = torch.randint(0, vocab, (batch, seq))
    mask = torch.ones(batch, seq, dtype=torch.long)
    as_loaded = torch.jit.load(path)
    eval_mode = torch.jit.load(path).eval()
    frozen = torch.jit.freeze(torch.jit.load(path).eval())
    optimized = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.load(path).eval()))
    variants = {"as_loaded": as_loaded, "eval": eval_mode, "frozen": frozen,
                "frozen_optimized": optimized}
    times = {k: [] for k in variants}
    with torch.no_grad():
        for m in variants.values():
            for _ in range(3):
                m(ids, mask)
        for _ in range(runs):
            for name, m in variants.items():
                start = time.perf_counter()
                m(ids, mask)
                times[name].append((time.perf_counter() - start) * 1000)
    print(json.dumps({k: statistics.median(v) for k, v in times.items()}))


if __name__ == "__main__":
    main()
