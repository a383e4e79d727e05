"""The Python peer for GPT-2's dynamic int8: PyTorch's eager `quantize_dynamic` (engine onednn)
on the same weights with every Conv1D swapped for the nn.Linear it stands for (weight transposed),
as a user of PyTorch's own tools must do first (quantize_dynamic does not know Conv1D). The
traced float32 model (frozen), the peer and llmc's artifact are timed alternately, run by run,
in this one process, on the same token ids; with LLMC_FP32.pt (llmc eval-freeze's artifact: frozen,
its written-out tanh GELUs fused) that float32 model too, so that int8's gain is also measured
against the fastest float32 llmc makes.

Usage: /usr/bin/python3 peer_quantize_gpt2.py MODEL.pt LLMC_INT8.pt BATCH SEQ RUNS OUT_PEER.pt [LLMC_FP32.pt]
MODEL.pt is one of make_hf_bench.py's GPT-2 files (its name gives the configuration).
Prints one JSON object: median ms per variant, next-token agreement with float32, file bytes.
"""
import ctypes
import json
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_hf_bench  # noqa: E402
from peer_timing import time_alternately  # noqa: E402
from hf_models import Conv1D  # noqa: E402  (make_hf_bench put tests/fixtures on the path)


def conv1d_as_linear(model):
    """Every Conv1D (weight [in, out], y = x W + b) becomes nn.Linear (weight [out, in])."""
    for name, mod in list(model.named_modules()):
        for child_name, child in list(mod.named_children()):
            if isinstance(child, Conv1D):
                nx, nf = child.weight.shape
                lin = nn.Linear(nx, nf)
                with torch.no_grad():
                    lin.weight.copy_(child.weight.t())
                    lin.bias.copy_(child.bias)
                setattr(mod, child_name, lin)
    return model


def main():
    path, llmc_path = sys.argv[1], sys.argv[2]
    batch, seq, runs = map(int, sys.argv[3:6])
    peer_out = sys.argv[6]
    torch.set_num_threads(1)
    ctypes.CDLL("libopenblas.so.0").openblas_set_num_threads(1)
    torch.backends.quantized.engine = "onednn"
    traced = torch.jit.load(path).eval()
    family, config = make_hf_bench.FAMILIES[os.path.basename(path)]
    eager = make_hf_bench.sized(family, config)
    # The trace also holds the attention's non-persistent mask buffers (attn.bias, masked_bias).
    missing, unexpected = eager.load_state_dict(traced.state_dict(), strict=False)
    if missing or any(not k.endswith(("attn.bias", "attn.masked_bias")) for k in unexpected):
        sys.exit(f"weights do not match the eager model: missing {missing}, unexpected {unexpected}")
    eager = conv1d_as_linear(eager).eval()
    peer = torch.ao.quantization.quantize_dynamic(eager, {nn.Linear}, dtype=torch.qint8)
    torch.manual_seed(0)
    ids = torch.randint(0, config["vocab"], (batch, seq))
    mask = torch.ones(batch, seq, dtype=torch.long)
    with torch.no_grad():
        torch.jit.save(torch.jit.trace(peer, (ids[:2, :16], mask[:2, :16])), peer_out)
    variants = {"fp32_frozen": torch.jit.freeze(traced), "peer_int8": peer,
                "llmc_int8": torch.jit.load(llmc_path)}
    if len(sys.argv) > 7:
        variants["llmc_fp32_frozen"] = torch.jit.load(sys.argv[7])
    result, outs = time_alternately(variants, (ids, mask), runs)
    ref = outs["fp32_frozen"].argmax(-1)
    for k in variants.keys() - {"fp32_frozen"}:
        result[k + "_next_token_agreement"] = (outs[k].argmax(-1) == ref).float().mean().item()
    result["peer_bytes"] = os.path.getsize(peer_out)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
