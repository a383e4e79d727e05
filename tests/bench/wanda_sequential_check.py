#!/usr/bin/env python3
"""Magnitude vs Wanda on a trained debtags model, with Wanda's calibration done three ways:
one shot on the dense model (what `llmc prune` does), block by block as the Wanda reference
implementation does (each encoder block's Linears see inputs from the blocks already pruned),
and layer by layer. Written against the project's eager BERT definition; asserts nothing.

  spm_encode --model SPM.model --output_format=id < TEXTS.txt > IDS.txt   (one text per line)
  /usr/bin/python3 tests/bench/wanda_sequential_check.py DENSE.pt IDS.txt LABELS.json 0.5,0.7,0.9

IDS.txt / LABELS.json: the first N test packages' token ids and label vectors. The first 128
texts calibrate (8 batches of 16, padding excluded), all N are evaluated (samples Jaccard,
logit > 0 is a predicted label). Every Linear but the classifier is pruned, per layer.
"""
import copy
import json
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
from make_fixtures import make_bert  # noqa: E402  the project's BERT definition


def load(path):
    sd = torch.jit.load(path).state_dict()
    hidden = sd["bert.embeddings.word_embeddings.weight"].shape[1]
    cfg = dict(vocab=sd["bert.embeddings.word_embeddings.weight"].shape[0], hidden=hidden,
               layers=len({k.split(".")[3] for k in sd if k.startswith("bert.encoder.layer.")}),
               heads=hidden // 64, inter=sd["bert.encoder.layer.0.intermediate.dense.weight"].shape[0],
               max_pos=sd["bert.embeddings.position_embeddings.weight"].shape[0],
               labels=sd["classifier.weight"].shape[0])
    m = make_bert(cfg, seed=0)
    m.load_state_dict(sd)
    return m.eval(), cfg


def batches(ids, lo, hi, bs=16):
    out = []
    for s in range(lo, hi, bs):
        chunk = ids[s:min(hi, s + bs)]
        length = max(len(c) for c in chunk)
        inp = torch.zeros(len(chunk), length, dtype=torch.long)
        mask = torch.zeros(len(chunk), length, dtype=torch.long)
        for k, c in enumerate(chunk):
            inp[k, :len(c)] = torch.tensor(c)
            mask[k, :len(c)] = 1
        out.append((inp, mask))
    return out


def main():
    dense_path, ids_path, labels_path, sparsities = sys.argv[1:5]
    torch.set_num_threads(2)
    base, cfg = load(dense_path)
    ids = [[int(t) for t in line.split()][:cfg["max_pos"]] for line in open(ids_path)]
    labels = torch.tensor(json.load(open(labels_path))).bool()
    calib, evaluation = batches(ids, 0, 128), batches(ids, 0, len(ids))
    linears = [n for n, mod in base.named_modules() if isinstance(mod, torch.nn.Linear) and n != "classifier"]

    def jaccard(model):
        with torch.no_grad():
            p = torch.cat([model(i, m) > 0 for i, m in evaluation])
        inter, union = (p & labels).sum(1).float(), (p | labels).sum(1).float()
        return torch.where(union > 0, inter / union.clamp(min=1), torch.ones_like(union)).mean().item()

    def norms(model, names):  # ||X_j||_2 over the real (unpadded) calibration tokens
        mods, acc, cur, hooks = dict(model.named_modules()), {n: 0 for n in names}, {}, []
        for n in names:
            def hook(mod, inp, out, n=n):
                x = inp[0]
                sq = x.pow(2) * cur["mask"].unsqueeze(-1) if x.dim() == 3 else x.pow(2)
                acc[n] = acc[n] + sq.reshape(-1, x.shape[-1]).sum(0)
            hooks.append(mods[n].register_forward_hook(hook))
        with torch.no_grad():
            for inp, mask in calib:
                cur["mask"] = mask.float()
                model(inp, mask)
        for h in hooks:
            h.remove()
        return {n: acc[n].sqrt() for n in names}

    def prune(w, s, norm=None, group="row"):
        score = w.abs() if norm is None else w.abs() * norm.unsqueeze(0)
        if group == "row":
            w.scatter_(1, score.argsort(1)[:, :int(round(s * w.shape[1]))], 0)
        else:
            w.view(-1)[score.view(-1).argsort()[:int(round(s * w.numel()))]] = 0

    def run(method, s, group, calibration):
        m = copy.deepcopy(base)
        mods = dict(m.named_modules())
        with torch.no_grad():
            if method == "magnitude":
                for n in linears:
                    prune(mods[n].weight, s, None, group)
            elif calibration == "one shot":
                st = norms(m, linears)
                for n in linears:
                    prune(mods[n].weight, s, st[n], group)
            else:
                groups = {}
                for n in linears:
                    key = n if calibration == "layer by layer" else ".".join(n.split(".")[:4])
                    groups.setdefault(key, []).append(n)
                for names in groups.values():
                    st = norms(m, names)
                    for n in names:
                        prune(mods[n].weight, s, st[n], group)
        return jaccard(m)

    print(f"{dense_path}: dense Jaccard {jaccard(base):.4f} on {len(ids)} packages")
    print("| sparsity | magnitude (layer) | Wanda (row), one shot | Wanda (row), block by block | Wanda (row), layer by layer | Wanda (layer), layer by layer |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for s in (float(x) for x in sparsities.split(",")):
        cells = [run("magnitude", s, "layer", None), run("wanda", s, "row", "one shot"),
                 run("wanda", s, "row", "block by block"), run("wanda", s, "row", "layer by layer"),
                 run("wanda", s, "layer", "layer by layer")]
        print(f"| {s:.0%} | " + " | ".join(f"{c:.4f}" for c in cells) + " |", flush=True)


if __name__ == "__main__":
    main()
