#!/usr/bin/env python3
"""Checks llmc's Wanda against a reference written here, on one Linear of a trained debtags
model, and compares the error Wanda and magnitude pruning leave in that layer's output with the
error they leave in the model's output.

  /usr/bin/python3 tests/bench/wanda_layer_check.py DENSE.pt LLMC_WANDA.pt LAYER SPARSITY IDS.txt

DENSE.pt: the trained model; LLMC_WANDA.pt: `llmc prune` of DENSE.pt with method wanda, the
same sparsity and `include: [LAYER]` only; IDS.txt: token ids, one text per line (e.g. from
`spm_encode --output_format=id`), used both as calibration and as evaluation inputs.
Prints relative output errors (||X (W - W_pruned)^T||^2 / ||X W^T||^2 over real tokens) and
the cosine / label agreement of the model output with each pruned weight put back.
"""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
from make_fixtures import make_bert  # noqa: E402  the project's BERT definition


def main():
    dense_path, llmc_path, layer, sparsity, ids_path = sys.argv[1:6]
    sparsity = float(sparsity)
    ts = torch.jit.load(dense_path)
    sd = ts.state_dict()
    hidden = sd["bert.embeddings.word_embeddings.weight"].shape[1]
    cfg = dict(vocab=sd["bert.embeddings.word_embeddings.weight"].shape[0], hidden=hidden,
               layers=len({k.split(".")[3] for k in sd if k.startswith("bert.encoder.layer.")}),
               heads=hidden // 64, inter=sd["bert.encoder.layer.0.intermediate.dense.weight"].shape[0],
               max_pos=sd["bert.embeddings.position_embeddings.weight"].shape[0],
               labels=sd["classifier.weight"].shape[0])
    m = make_bert(cfg, seed=0)
    m.load_state_dict(sd)
    m.eval()
    ids = [[int(t) for t in line.split()][: cfg["max_pos"]] for line in open(ids_path)]
    length = max(len(i) for i in ids)
    inp = torch.zeros(len(ids), length, dtype=torch.long)
    mask = torch.zeros(len(ids), length, dtype=torch.long)
    for k, i in enumerate(ids):
        inp[k, : len(i)] = torch.tensor(i)
        mask[k, : len(i)] = 1
    lin = dict(m.named_modules())[layer]
    captured = []
    hook = lin.register_forward_hook(lambda mod, i, o: captured.append(i[0]))
    with torch.no_grad():
        ref = m(inp, mask)
    hook.remove()
    x = captured[0][mask.bool()]  # real tokens x in_features
    w = lin.weight.detach().clone()
    norm = x.pow(2).sum(0).sqrt()

    k = int(round(sparsity * w.numel()))
    magnitude = w.clone()
    magnitude.view(-1)[w.abs().view(-1).argsort()[:k]] = 0
    wanda = w.clone()
    per_row = int(round(sparsity * w.shape[1]))
    wanda.scatter_(1, (w.abs() * norm).argsort(1)[:, :per_row], 0)
    llmc = torch.jit.load(llmc_path).state_dict()[layer + ".weight"]

    def layer_error(wp):
        return ((x @ (w - wp).t()).pow(2).sum() / (x @ w.t()).pow(2).sum()).item()

    print(f"layer {layer} {tuple(w.shape)}, sparsity {sparsity}, {x.shape[0]} tokens")
    print(f"llmc's wanda mask equals this reference: {torch.equal(llmc == 0, wanda == 0)} "
          f"(masks differ in {(llmc.eq(0) != wanda.eq(0)).float().mean().item():.4%} of weights; "
          f"llmc calibrates on its own tokenization and batches)")
    print("| pruning | layer output error | model output cosine | label agreement |")
    print("| --- | ---: | ---: | ---: |")
    with torch.no_grad():
        for name, wp in (("magnitude (layer)", magnitude), ("wanda (row), reference", wanda),
                         ("wanda, llmc's artifact", llmc)):
            lin.weight.copy_(wp)
            out = m(inp, mask)
            cos = torch.nn.functional.cosine_similarity(out.flatten(), ref.flatten(), 0).item()
            agree = ((out > 0) == (ref > 0)).all(1).float().mean().item()
            print(f"| {name} | {layer_error(wp):.4f} | {cos:.6f} | {agree:.4f} |")
            lin.weight.copy_(w)


if __name__ == "__main__":
    main()
