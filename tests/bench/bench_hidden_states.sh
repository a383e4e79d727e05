#!/usr/bin/env bash
# Hidden-state distillation on the debtags case study: the distilled student of step 2
# (recipes/examples/debtags/student-distilled.yaml, logits only) against step 2b
# (student-hidden.yaml: the same plus two hidden-state pairs), same seed, same epochs, same
# teacher; prints the evaluation Jaccard after every epoch of both, the hidden-state loss, and
# the training time. Measures and prints; asserts nothing.
# Usage: bash tests/bench/bench_hidden_states.sh
#   LLMC_DEBTAGS          data, models, outputs (default build/debtags; built when missing)
#   BENCH_THREADS         threads (default 2)
#   BENCH_EPOCHS          student epochs (default: the recipes' 10)
#   BENCH_TRAIN           training packages (default: all), BENCH_EVAL test packages (default: all)
#   BENCH_TEACHER         the teacher (default: the case study's out/teacher-continued/model.pt)
#   BENCH_TEACHER_EPOCHS  without that file, a teacher is trained here first (teacher.yaml) for
#                         this many epochs (default 4) on the same training packages
no_model_line=1
source "$(dirname "$0")/setup.sh" 1
threads=${BENCH_THREADS:-2}
export LLMC_DEBTAGS=${LLMC_DEBTAGS:-$PWD/build/debtags}
deb=$LLMC_DEBTAGS
ex=recipes/examples/debtags
[ -f "$deb/train.jsonl" ] || "$torch_python" $ex/build_dataset.py "$deb" >&2
[ -f "$deb/student.pt" ] || "$torch_python" $ex/make_models.py "$deb" >&2
out=build/bench/hidden_states
mkdir -p "$out"

common=(--threads "$threads" --force -q --json)
[ -n "${BENCH_TRAIN:-}" ] && common+=(--set "distill.train_data.max_samples=$BENCH_TRAIN")
[ -n "${BENCH_EVAL:-}" ] && common+=(--set "data.max_samples=$BENCH_EVAL")
sets=("${common[@]}")
[ -n "${BENCH_EPOCHS:-}" ] && sets+=(--set "distill.epochs=$BENCH_EPOCHS")

teacher=${BENCH_TEACHER:-$deb/out/teacher-continued/model.pt}
if [ ! -f "$teacher" ]; then
  teacher_epochs=${BENCH_TEACHER_EPOCHS:-4}
  echo "teacher: none trained in \$LLMC_DEBTAGS/out/teacher-continued; training teacher.yaml here for $teacher_epochs epochs"
  teacher_sets=("${common[@]}" --set "distill.epochs=$teacher_epochs")
  ./build/tools/llmc distill $ex/teacher.yaml "${teacher_sets[@]}" --out "$out/teacher" > "$out/teacher.json"
  teacher=$PWD/$out/teacher/model.pt
else
  echo "teacher: $(basename "$(dirname "$teacher")")/$(basename "$teacher")"
fi

for run in student-distilled student-hidden; do
  ./build/tools/llmc distill $ex/$run.yaml "${sets[@]}" --set "distill.teacher=$teacher" \
    --out "$out/$run" > "$out/$run.json"
done

"$torch_python" - "$out" "$threads" "$teacher" <<'PY'
import json, sys
out, threads, teacher_path = sys.argv[1:4]
def load(name):
    return json.load(open(f"{out}/{name}.json"))
teacher = None
if teacher_path.endswith(f"{out}/teacher/model.pt"):  # trained by this script
    teacher = load("teacher")
a, b = load("student-distilled"), load("student-hidden")
da, db = a["details"], b["details"]
print(f"data: {da['train_samples']} training packages, {da['eval_samples']} test packages; "
      f"{da['epochs']} epochs, seed 0, {threads} thread(s); measured under load")
if teacher:
    t = teacher["details"]
    print(f"teacher: trained here, {t['epochs']} epochs, test Jaccard "
          f"{t['history'][-1]['jaccard_samples']:.4f}")
for p in db["hidden_states"]:
    print(f"pair: teacher {p['teacher']} <- student {p['student']}, {p['loss']}, weight "
          f"{p['weight']}, projection {p['projection']}")
print()
print("| epoch | logits only: Jaccard | logits + hidden states: Jaccard | hidden_loss (weighted) |")
print("| --- | --- | --- | --- |")
for ra, rb in zip(da["history"], db["history"]):
    print(f"| {ra['epoch']} | {ra['jaccard_samples']:.4f} | {rb['jaccard_samples']:.4f} | "
          f"{rb['hidden_loss']:.4f} |")
print()
for name, d in (("logits only", da), ("logits + hidden states", db)):
    print(f"{name}: best {d['best']}; training {d['train_seconds']:.0f} s "
          f"({d['train_samples_per_second']:.1f} samples/s); teacher cache: {d['teacher_cache']}")
PY
