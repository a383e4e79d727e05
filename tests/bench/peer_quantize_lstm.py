"""The LSTM part of the quantize benchmark.

  make OUT.pt                    writes the benchmark LSTM classifier (tests/fixtures' LstmClassifier:
                                 embedding 8000 x 256, 2-layer bidirectional LSTM, hidden 512,
                                 linear head), scripted, eval mode
  peer LLMC_INT8.pt RUNS OUT.pt  rebuilds the same model (same seed), quantizes it with PyTorch's
                                 eager quantize_dynamic ({nn.LSTM, nn.Linear}, qint8, engine
                                 onednn: the peer for LSTMs, which quantize_dynamic_jit does not
                                 handle), and times fp32 (scripted, frozen), the peer and llmc's
                                 artifact alternately, run by run, at batch 16 x 128, 1 thread.
                                 Prints one JSON object.
"""
import ctypes
import io
import json
import os
import sys

import torch

from peer_timing import time_alternately

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "fixtures"))
import make_fixtures  # noqa: E402

VOCAB, EMB, HIDDEN, LABELS = 8000, 256, 512, 4


def model():
    torch.manual_seed(11)
    return make_fixtures.LstmClassifier(VOCAB, EMB, HIDDEN, LABELS).eval()


def peer(llmc_path, runs, out_path):
    torch.set_num_threads(1)
    ctypes.CDLL("libopenblas.so.0").openblas_set_num_threads(1)
    torch.backends.quantized.engine = "onednn"
    eager = model()
    fp32 = torch.jit.freeze(torch.jit.script(eager))
    quantized = torch.quantization.quantize_dynamic(model(), {torch.nn.LSTM, torch.nn.Linear}, dtype=torch.qint8)
    scripted_peer = torch.jit.script(quantized)
    torch.jit.save(scripted_peer, out_path)
    variants = {"fp32_frozen": fp32, "peer_int8": scripted_peer, "llmc_int8": torch.jit.load(llmc_path)}
    torch.manual_seed(0)
    ids = torch.randint(0, VOCAB, (16, 128))
    result, outs = time_alternately(variants, (ids,), runs, warmup=2)
    ref = outs["fp32_frozen"]
    for name in ("peer_int8", "llmc_int8"):
        result[name + "_max_abs_diff"] = (outs[name] - ref).abs().max().item()
    result["peer_bytes"] = os.path.getsize(out_path)
    buffer = io.BytesIO()
    torch.jit.save(fp32, buffer)
    result["fp32_bytes"] = buffer.getbuffer().nbytes
    print(json.dumps(result))


if __name__ == "__main__":
    if sys.argv[1] == "make":
        torch.jit.save(torch.jit.script(model()), sys.argv[2])
    else:
        peer(sys.argv[2], int(sys.argv[3]), sys.argv[4])
