#!/usr/bin/env bash
# Benchmark of `llmc distill` training against the same loop in Python PyTorch 1.13
# (tests/bench/peer_distill.py), same models (the debtags teacher and student), data (the first
# 1024 debtags training packages as token ids, 256 test packages), batch 32, optimizer and loss,
# in the same run. Measures and prints; asserts nothing.
#   1. per step, student only (alpha 1, no teacher), 2 epochs each;
#   2. per step, with the teacher run on every batch (llmc's cache off), 2 epochs each;
#   3. 10 epochs of distillation end to end: llmc with its teacher-logit cache, the peer
#      running the teacher on every batch as the classic recipe does.
# Usage: bash tests/bench/bench_distill.sh [THREADS]   (needs the debtags dataset and models:
# recipes/examples/debtags/build_dataset.py and make_models.py; built here when missing)
no_model_line=1
source "$(dirname "$0")/setup.sh" 5
threads=${BENCH_THREADS:-2}
deb=${LLMC_DEBTAGS:-build/debtags}
[ -f "$deb/train.jsonl" ] || "$torch_python" recipes/examples/debtags/build_dataset.py "$deb" >&2
[ -f "$deb/student.pt" ] || "$torch_python" recipes/examples/debtags/make_models.py "$deb" >&2
"$torch_python" - "$deb" <<'PY'
import json, subprocess, sys
deb = sys.argv[1]
for name, src, n in (("train", "train.jsonl", 1024), ("eval", "test.jsonl", 256)):
    rows = [json.loads(l) for l in open(f"{deb}/{src}")][:n]
    ids = subprocess.run(["spm_encode", f"--model={deb}/spm.model", "--output_format=id"],
                         input="\n".join(r["text"].replace("\n", " ") for r in rows),
                         capture_output=True, text=True, check=True).stdout.splitlines()
    with open(f"build/bench/distill_{name}_ids.jsonl", "w") as f:
        for r, line in zip(rows, ids):
            toks = ([2] + [int(x) for x in line.split()])[:128]
            f.write(json.dumps({"input_ids": toks, "attention_mask": [1] * len(toks), "labels": r["labels"]}) + "\n")
PY
echo "data: 1024 debtags training packages, 256 test packages, token ids (max 128); batch 32; teacher hidden 256 x 4 layers, student hidden 128 x 2 layers"
echo "settings: LibTorch intra-op 1 thread, OpenBLAS $threads thread(s) (both sides)${OPENBLAS_CORETYPE:+, OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE}"

"$torch_python" - "$deb" "$threads" <<'PY'
import json, os, subprocess, sys, time
deb, threads = sys.argv[1], sys.argv[2]
recipe = open("tests/bench/distill-bench.yaml").read()
open("build/bench/distill-alone.yaml", "w").write(
    "\n".join(l for l in recipe.splitlines() if not l.startswith("  teacher:")).replace("alpha: 0.5", "alpha: 1") + "\n")
# The recipe copy sits in build/bench: its relative paths are rewritten for that directory.
open("build/bench/distill-teacher.yaml", "w").write(recipe)
for f in ("build/bench/distill-alone.yaml", "build/bench/distill-teacher.yaml"):
    rel = os.path.relpath(os.path.abspath(deb), os.path.abspath("build/bench"))
    t = open(f).read().replace("../../build/bench/", "./").replace("../../build/debtags/", rel + "/")
    open(f, "w").write(t)

def llmc(recipe, out, *sets):
    cmd = ["./build/tools/llmc", "distill", recipe, "--force", "-q", "--json", "--threads", threads,
           "--out", f"build/bench/{out}"]
    for s in sets:
        cmd += ["--set", s]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        sys.exit(r.stderr)
    d = json.loads(r.stdout)["details"]
    return wall, d["train_seconds"], d["train_samples_per_second"]

def peer(teacher, epochs):
    t0 = time.perf_counter()
    r = subprocess.run(["/usr/bin/python3", "tests/bench/peer_distill.py", f"{deb}/student.pt", teacher,
                        "build/bench/distill_train_ids.jsonl", "build/bench/distill_eval_ids.jsonl",
                        str(epochs), threads], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(r.stderr)
    j = json.loads(r.stdout)
    return time.perf_counter() - t0, j["train_seconds"], j["samples_per_second"]

print()
a = llmc("build/bench/distill-alone.yaml", "distill-alone", "distill.epochs=2")
b = peer("none", 2)
print(f"1. student only, per step: llmc {a[2]:.1f} samples/s, peer {b[2]:.1f} samples/s -> llmc/peer {a[2] / b[2]:.2f}x")
a = llmc("build/bench/distill-teacher.yaml", "distill-nocache", "distill.epochs=2", "distill.teacher_cache=false")
b = peer(f"{deb}/teacher.pt", 2)
print(f"2. with the teacher on every batch, per step: llmc {a[2]:.1f} samples/s, peer {b[2]:.1f} samples/s -> llmc/peer {a[2] / b[2]:.2f}x")
a = llmc("build/bench/distill-teacher.yaml", "distill-cache")
b = peer(f"{deb}/teacher.pt", 10)
print(f"3. 10 epochs end to end (wall, incl. loading and per-epoch evaluation; llmc also writes its report):")
print(f"   llmc {a[0]:.1f} s (training loop {a[1]:.1f} s), peer {b[0]:.1f} s (training loop {b[1]:.1f} s)"
      f" -> llmc {b[0] / a[0]:.2f}x faster end to end, {b[1] / a[1]:.2f}x on the training loop")
PY
