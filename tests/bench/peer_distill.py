#!/usr/bin/env python3
"""The Python peer of `llmc distill`: the same training loop written in PyTorch 1.13 the way the
classic recipe does it (teacher forward on every batch of every epoch, no logit cache), with the
same models (eager modules carrying the weights of the TorchScript files), data, batch size,
optimizer (AdamW, no decay on 1-D parameters, linear warm-up/decay), clipping and loss
(alpha * BCE + (1 - alpha) * T^2 * mean Bernoulli KL of sigmoid(logits / T)).

Thread settings as llmc's default: LibTorch intra-op 1, OpenBLAS THREADS.
Prints JSON: train_seconds (loop only), wall_seconds (whole run after imports), samples/s.
Usage: peer_distill.py STUDENT.pt TEACHER.pt|none TRAIN.jsonl EVAL.jsonl EPOCHS THREADS
"""
import ctypes
import json
import math
import os
import random
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixtures"))
from make_fixtures import BertForSequenceClassification  # noqa: E402


def config_of(sd):
    hidden = sd["bert.embeddings.word_embeddings.weight"].shape[1]
    layers = 1 + max(int(k.split(".")[3]) for k in sd if k.startswith("bert.encoder.layer."))
    return dict(vocab=sd["bert.embeddings.word_embeddings.weight"].shape[0], hidden=hidden,
                layers=layers, heads=hidden // 64, inter=sd["bert.encoder.layer.0.intermediate.dense.weight"].shape[0],
                max_pos=sd["bert.embeddings.position_embeddings.weight"].shape[0],
                labels=sd["classifier.weight"].shape[0])


def eager(path):
    sd = torch.jit.load(path).state_dict()
    m = BertForSequenceClassification(config_of(sd))
    m.load_state_dict(sd)
    return m


def read(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def batch(rows):
    longest = max(len(r["input_ids"]) for r in rows)
    ids = torch.zeros(len(rows), longest, dtype=torch.long)
    mask = torch.zeros(len(rows), longest, dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, :len(r["input_ids"])] = torch.tensor(r["input_ids"])
        mask[i, :len(r["input_ids"])] = 1
    return ids, mask, torch.tensor([r["labels"] for r in rows], dtype=torch.float)


def main():
    student_path, teacher_path, train_path, eval_path, epochs, threads = sys.argv[1:7]
    epochs, threads = int(epochs), int(threads)
    torch.set_num_threads(1)
    ctypes.CDLL("libopenblas.so.0").openblas_set_num_threads(threads)
    start = time.perf_counter()
    torch.manual_seed(0)
    random.seed(0)
    student = eager(student_path)
    teacher = None if teacher_path == "none" else eager(teacher_path).eval()
    train, evalset = read(train_path), read(eval_path)
    bs, alpha, T, lr = 32, (1.0 if teacher is None else 0.5), 4.0, 1e-3
    decay = [p for p in student.parameters() if p.dim() >= 2]
    no_decay = [p for p in student.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01},
                             {"params": no_decay, "weight_decay": 0.0}], lr=lr)
    total = epochs * math.ceil(len(train) / bs)
    warm = math.ceil(0.1 * total)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: s / max(1, warm) if s < warm else max(0.0, (total - s) / max(1, total - warm)))
    bce = torch.nn.BCEWithLogitsLoss()
    train_seconds, samples = 0.0, 0
    for epoch in range(epochs):
        t0 = time.perf_counter()
        student.train()
        order = list(range(len(train)))
        random.shuffle(order)
        for i in range(0, len(order), bs):
            ids, mask, labels = batch([train[j] for j in order[i:i + bs]])
            logits = student(ids, mask)
            loss = bce(logits, labels)
            if teacher is not None:
                with torch.no_grad():
                    t = teacher(ids, mask)
                s, tt = logits / T, t / T
                p = torch.sigmoid(tt)
                kl = p * (torch.nn.functional.logsigmoid(tt) - torch.nn.functional.logsigmoid(s)) + \
                    (1 - p) * (torch.nn.functional.logsigmoid(-tt) - torch.nn.functional.logsigmoid(-s))
                loss = alpha * loss + (1 - alpha) * T * T * kl.mean()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(student.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            samples += ids.size(0)
        train_seconds += time.perf_counter() - t0
        student.eval()
        with torch.no_grad():  # evaluation every epoch, as llmc does
            for i in range(0, len(evalset), 16):
                ids, mask, _ = batch(evalset[i:i + 16])
                student(ids, mask)
        print(f"peer epoch {epoch + 1}/{epochs}: loss {loss.item():.4f}", file=sys.stderr)
    print(json.dumps({"train_seconds": train_seconds, "wall_seconds": time.perf_counter() - start,
                      "samples_per_second": samples / train_seconds, "epochs": epochs,
                      "samples": len(train)}))


if __name__ == "__main__":
    main()
