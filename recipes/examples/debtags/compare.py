#!/usr/bin/env python3
"""Prints the debtags case study side by side, as the chapter does: teacher, distilled student
and the student trained without a teacher, from the reports `llmc distill` wrote.

Jaccard (samples average) on the test split, parameters, file size, time for a batch of 16
(p50) and peak memory. The teacher and the distilled student are measured in the same run
(report of student-distilled), the student without a teacher in its own run.
Usage: compare.py OUTDIR   (the directory holding teacher/, student-distilled/, student-alone/)
"""
import json
import os
import sys


def load(out, name):
    path = os.path.join(out, name, "report.json")
    if not os.path.exists(path):
        sys.exit(f"compare.py: {path} is missing; run the {name} recipe first")
    with open(path) as f:
        return json.load(f)


def row(label, side, threshold):
    m = side["metrics"] or {}
    return (f"| {label} | {m.get('jaccard_samples', float('nan')):.4f} | "
            f"{m.get('micro_f1', float('nan')):.4f} | {side['parameter_count'] / 1e6:.2f} M | "
            f"{side['file_bytes'] / 2**20:.1f} MiB | {side['latency']['p50_ms']:.1f} ms | "
            f"{side['memory']['peak_rss_bytes'] / 2**20:.0f} MiB |")


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "."
    distilled = load(out, "student-distilled")
    alone = load(out, "student-alone")
    # The teacher the students learnt from: step 1b's when it ran, else step 1a's.
    teacher_name = ("teacher-continued"
                    if os.path.exists(os.path.join(out, "teacher-continued", "report.json"))
                    else "teacher")
    teacher = load(out, teacher_name)
    threshold = 0.5
    print(f"debtags test split: {distilled['inputs']['rows']} packages; "
          f"threads: {distilled['provenance']['threads']}")
    print(f"machine: {distilled['provenance']['machine']['cpu']}, "
          f"{distilled['provenance']['machine']['cores']} cores\n")
    print("| model | Jaccard | micro-F1 | parameters | file | time for 16 (p50) | peak memory |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    print(row("teacher (hidden 256, 4 layers)", distilled["original"], threshold))
    print(row(f"student distilled ({distilled['details'].get('loss', '')})", distilled["result"],
              threshold))
    print(row("student without teacher", alone["result"], threshold))
    print()
    for name, rep in ((teacher_name, teacher), ("student-distilled", distilled),
                      ("student-alone", alone)):
        d = rep["details"]
        print(f"- {name}: best {d['best']}; {d['train_samples']} training samples, "
              f"{d['epochs']} epochs, {d['train_seconds']:.0f} s training "
              f"({d['train_samples_per_second']:.1f} samples/s)")


if __name__ == "__main__":
    main()
