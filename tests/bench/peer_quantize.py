"""The Python peer for the quantize benchmark: PyTorch's own quantize_dynamic_jit (engine
onednn) on the same TorchScript model, and llmc's artifact loaded in the same process; fp32,
the peer's int8 and llmc's int8 are timed alternately, run by run.

Usage: /usr/bin/python3 peer_quantize.py MODEL.pt LLMC_INT8.pt BATCH SEQ VOCAB RUNS OUT_PEER.pt [LLMC_INT8_2.pt]
With LLMC_INT8_2.pt (e.g. llmc's artifact with activation_matmuls: fp32, like for like with the
peer) it is timed in the same alternation as "llmc_int8_2". Prints one JSON object.
"""
import ctypes
import json
import os
import sys

import torch

from peer_timing import time_alternately


def main():
    path, llmc_path = sys.argv[1], sys.argv[2]
    batch, seq, vocab, runs = map(int, sys.argv[3:7])
    peer_out = sys.argv[7]
    torch.set_num_threads(1)
    ctypes.CDLL("libopenblas.so.0").openblas_set_num_threads(1)
    torch.backends.quantized.engine = "onednn"
    torch.manual_seed(0)
    ids = torch.randint(0, vocab, (batch, seq))
    mask = torch.ones(batch, seq, dtype=torch.long)
    fp32 = torch.jit.freeze(torch.jit.load(path).eval())
    from torch.ao.quantization import default_dynamic_qconfig, quantize_dynamic_jit
    peer = quantize_dynamic_jit(torch.jit.load(path).eval(), {"": default_dynamic_qconfig})
    torch.jit.save(peer, peer_out)
    llmc = torch.jit.load(llmc_path)
    variants = {"fp32_frozen": fp32, "peer_int8": peer, "llmc_int8": llmc}
    if len(sys.argv) > 8:
        variants["llmc_int8_2"] = torch.jit.load(sys.argv[8])
    result, outs = time_alternately(variants, (ids, mask), runs)
    ref = outs["fp32_frozen"].argmax(-1)
    result["peer_label_agreement"] = (outs["peer_int8"].argmax(-1) == ref).float().mean().item()
    result["llmc_label_agreement"] = (outs["llmc_int8"].argmax(-1) == ref).float().mean().item()
    if "llmc_int8_2" in outs:
        result["llmc_2_label_agreement"] = (outs["llmc_int8_2"].argmax(-1) == ref).float().mean().item()
    result["peer_bytes"] = os.path.getsize(peer_out)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
