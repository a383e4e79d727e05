"""The timing loop every Python peer of the benchmarks shares: each variant warmed up, then all
timed alternately, run by run, on the same arguments, in this one process."""
import statistics
import time

import torch


def time_alternately(variants, args, runs, warmup=3):
    """variants: {name: callable}. Returns ({name: median ms}, {name: last output})."""
    times = {k: [] for k in variants}
    outs = {}
    with torch.no_grad():
        for name, m in variants.items():
            for _ in range(warmup):
                outs[name] = m(*args)
        for _ in range(runs):
            for name, m in variants.items():
                start = time.perf_counter()
                m(*args)
                times[name].append((time.perf_counter() - start) * 1000)
    return {k: statistics.median(v) for k, v in times.items()}, outs
