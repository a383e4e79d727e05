# Shared setup of the benchmark scripts (sourced, not run): builds llmc, makes the benchmark
# model, and prints the machine and model lines every benchmark output starts with.
# Sets: runs (first argument, default 30), torch_python. no_model_line=1 (set before sourcing)
# leaves out the benchmark encoder's line for scripts that measure other models.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
runs=${1:-30}
torch_python=${TORCH_PYTHON:-/usr/bin/python3}
bash .ci/build
mkdir -p build/bench
[ -f build/bench/bert_bench.pt ] ||
  "$torch_python" tests/fixtures/make_fixtures.py build/bench --only bert_bench.pt >&2

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB"
[ -n "${no_model_line:-}" ] || echo "model: BERT-style encoder classifier, hidden 256, 4 layers, 4 heads, intermediate 1024, vocab 8000; batch 16 x 128; $runs timed runs"
