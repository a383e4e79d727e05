#!/usr/bin/env python3
"""Builds the debtags multi-label dataset from this machine's apt lists.

Text: each package's English description (short line + long description) from the
Translation-en index. Labels: its debtags (field `Tag` of `apt-cache dumpavail`), reduced to the
20 most frequent tags. Packages are split deterministically by a hash of their name (about 10%
test). A SentencePiece vocabulary is trained on the training text with Debian's `spm_train`.

Writes into OUTDIR: train.jsonl, test.jsonl ({"package", "text", "labels": [20 x 0/1]}),
labels.txt, spm.model, spm.vocab and stats.json.

Needs the English translations in the apt lists:
    apt-get update -o Acquire::Languages=en
Usage: build_dataset.py OUTDIR [--vocab-size 8000] [--top 20]
"""
import argparse
import collections
import hashlib
import json
import os
import subprocess
import sys


def run(cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def stanzas(text):
    """Yields each RFC-822 stanza as a dict; continuation lines are kept with their field."""
    fields, key = {}, None
    for line in text.splitlines():
        if not line.strip():
            if fields:
                yield fields
            fields, key = {}, None
        elif line[0] in " \t" and key is not None:
            fields[key] += "\n" + line
        elif ":" in line:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    if fields:
        yield fields


def descriptions():
    files = run(["apt-get", "indextargets", "-o", "Acquire::Languages=en", "--format",
                 "$(FILENAME)", "Created-By: Translations", "Language: en"]).split()
    if not files:
        sys.exit("build_dataset.py: no English translation index in the apt lists; run "
                 "`apt-get update -o Acquire::Languages=en` first")
    out = {}
    for f in files:
        for st in stanzas(run(["/usr/lib/apt/apt-helper", "cat-file", f])):
            if "Package" in st and "Description-en" in st:
                first, _, rest = st["Description-en"].partition("\n")
                body = [ln.strip() for ln in rest.splitlines()]
                body = ["" if ln == "." else ln for ln in body]
                text = first.strip() + ". " + " ".join(ln for ln in body if ln)
                out.setdefault(st["Package"], text)
    return out


def tags():
    out = {}
    for st in stanzas(run(["apt-cache", "dumpavail"])):
        if "Package" in st and "Tag" in st:
            t = [x.strip() for x in st["Tag"].replace("\n", " ").split(",") if x.strip()]
            out.setdefault(st["Package"], t)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir")
    ap.add_argument("--vocab-size", type=int, default=8000)
    ap.add_argument("--top", type=int, default=20)
    args = ap.parse_args()
    os.makedirs(args.outdir, exist_ok=True)

    desc, tag = descriptions(), tags()
    names = sorted(set(desc) & set(tag))
    counts = collections.Counter(t for n in names for t in set(tag[n]))
    # Most frequent first; ties broken by name so the label set is deterministic.
    top = [t for t, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[: args.top]]
    index = {t: i for i, t in enumerate(top)}

    split = {"train": [], "test": []}
    for n in names:
        hot = [0] * len(top)
        for t in tag[n]:
            if t in index:
                hot[index[t]] = 1
        if not any(hot):
            continue  # no frequent tag: nothing to learn or score
        bucket = int(hashlib.sha256(n.encode()).hexdigest(), 16) % 10
        split["test" if bucket == 0 else "train"].append(
            {"package": n, "text": desc[n], "labels": hot})

    for name, rows in split.items():
        with open(os.path.join(args.outdir, name + ".jsonl"), "w") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
    with open(os.path.join(args.outdir, "labels.txt"), "w") as f:
        f.write("\n".join(top) + "\n")

    text_file = os.path.join(args.outdir, "train_text.txt")
    with open(text_file, "w") as f:
        for r in split["train"]:
            f.write(r["text"].replace("\n", " ") + "\n")
    # ids: 0 pad (what llmc pads with), 1 unk, 2 bos, 3 eos.
    run(["spm_train", f"--input={text_file}", f"--model_prefix={os.path.join(args.outdir, 'spm')}",
         f"--vocab_size={args.vocab_size}", "--model_type=unigram", "--character_coverage=1.0",
         "--pad_id=0", "--unk_id=1", "--bos_id=2", "--eos_id=3", "--num_threads=2",
         "--input_sentence_size=0", "--shuffle_input_sentence=false"])
    os.remove(text_file)

    stats = {"packages_with_tags_and_description": len(names), "labels": top,
             "label_counts": [counts[t] for t in top], "train": len(split["train"]),
             "test": len(split["test"]), "vocab_size": args.vocab_size}
    with open(os.path.join(args.outdir, "stats.json"), "w") as f:
        json.dump(stats, f, indent=1)
    print(json.dumps({k: stats[k] for k in ("train", "test", "vocab_size")}))


if __name__ == "__main__":
    main()
