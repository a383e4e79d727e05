#!/usr/bin/env python3
"""The peer of `llmc export-onnx`: torch.onnx.export (python3-torch 1.13, opset 17) of the same
BERT-style encoder, from the eager model with the benchmark file's weights, with the same input
and output names and dynamic axes. Usage: peer_export_onnx.py BERT_BENCH_PT OUT_ONNX"""
import contextlib
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "fixtures"))
from make_fixtures import BENCH, example_inputs, make_bert  # noqa: E402

torch.set_num_threads(1)
scripted = torch.jit.load(sys.argv[1])
model = make_bert(BENCH).eval()
model.load_state_dict(scripted.state_dict())
with torch.no_grad(), contextlib.redirect_stdout(sys.stderr):
    torch.onnx.export(model, example_inputs(BENCH, 16, 128), sys.argv[2], opset_version=17,
                      input_names=["input_ids", "attention_mask"], output_names=["logits"],
                      dynamic_axes={"input_ids": {0: "batch", 1: "sequence"},
                                    "attention_mask": {0: "batch", 1: "sequence"},
                                    "logits": {0: "batch"}})
