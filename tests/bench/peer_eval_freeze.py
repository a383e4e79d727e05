"""The Python peer for the eval-freeze benchmark: the same model and inputs through PyTorch's own
torch.jit.freeze / optimize_for_inference, timed alternately run by run.

Usage: OPENBLAS_NUM_THREADS=1 /usr/bin/python3 peer_eval_freeze.py MODEL.pt BATCH SEQ VOCAB RUNS
Prints one JSON object: p50 latency in ms of each variant.
"""
import json
import sys

import torch

from peer_timing import time_alternately


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
    print(json.dumps(time_alternately(variants, (ids, mask), runs)[0]))


if __name__ == "__main__":
    main()
