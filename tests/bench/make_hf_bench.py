#!/usr/bin/env python3
"""Benchmark-sized models in the Hugging Face layouts of tests/fixtures/hf_models.py, traced as
transformers users export them (eval mode, HF's initialisation, nothing downloaded):

  gpt2_bench.pt    GPT2LMHeadModel: Conv1D layers, fused c_attn, lm_head tied to wte;
                   hidden 256, 4 layers, 4 heads, intermediate 1024, vocab 8000, 128 positions
  llama_bench.pt   LlamaForCausalLM: RMSNorm, RoPE, grouped-query attention (4 heads, 2 key/value
                   heads), SiLU-gated MLP; hidden 256, 4 layers, intermediate 688, vocab 8000
                   (its lm_head is 45 % of the matrix FLOPs, more than any real LLaMA's)
  llama_deep_bench.pt  the same layout closer to real proportions: hidden 512, 8 layers, 8 heads,
                   4 key/value heads, intermediate 1376, vocab 8000 (lm_head 15 % of the FLOPs)

Usage: /usr/bin/python3 make_hf_bench.py OUTDIR [NAME ...]   (default: both)
Also importable: `sized(family)` gives the eager model (the peers rebuild it and load the
traced file's weights into it).
"""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
import hf_models  # noqa: E402  the HF-layout definitions

BENCH = dict(hf_models.CFG, vocab=8000, hidden=256, layers=4, heads=4, kv_heads=2, inter=1024,
             llama_inter=688, max_pos=128)
DEEP = dict(BENCH, hidden=512, layers=8, heads=8, kv_heads=4, llama_inter=1376)
# GPT-2 small's width (hidden 768, 12 heads, intermediate 3072) on 6 of its 12 layers; LLaMA at
# TinyLlama's proportions (intermediate 2.75 x hidden, 4 query heads per key/value head) at half
# its width, 8 layers.
GPT2_WIDE = dict(BENCH, hidden=768, layers=6, heads=12, inter=3072)
LLAMA_WIDE = dict(BENCH, hidden=1024, layers=8, heads=16, kv_heads=4, llama_inter=2816)
FAMILIES = {"gpt2_bench.pt": ("gpt2", BENCH), "llama_bench.pt": ("llama", BENCH),
            "llama_deep_bench.pt": ("llama", DEEP), "gpt2_wide_bench.pt": ("gpt2", GPT2_WIDE),
            "llama_wide_bench.pt": ("llama", LLAMA_WIDE)}


def sized(family, c=BENCH):
    return hf_models.make_model(family, c=c)


def trace(model):
    ids = torch.randint(1, BENCH["vocab"], (2, 16), generator=torch.Generator().manual_seed(1))
    mask = torch.ones(2, 16, dtype=torch.long)
    mask[1, 12:] = 0
    other_ids = torch.randint(1, BENCH["vocab"], (3, 9), generator=torch.Generator().manual_seed(2))
    other = (other_ids, torch.ones(3, 9, dtype=torch.long))
    with torch.no_grad():
        return torch.jit.trace(model, (ids, mask), check_inputs=[other])


def main():
    out = sys.argv[1]
    names = sys.argv[2:] or list(FAMILIES)
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)
    for name in names:
        model = sized(*FAMILIES[name])
        torch.jit.save(trace(model), os.path.join(out, name))
        n = sum(p.numel() for p in model.parameters())
        print(f"wrote {os.path.join(out, name)} ({n} parameters)", file=sys.stderr)


if __name__ == "__main__":
    main()
