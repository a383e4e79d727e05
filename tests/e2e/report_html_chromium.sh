#!/usr/bin/env bash
# report.html of `llmc compare` in headless Chromium (Debian's chromium, which .ci/install-deps
# installs): a compare run on the tiny distillation fixtures with every figure (four bar charts,
# cost, learning curves, softmax panel), and `llmc run`'s of a two-stage pipeline (its stages
# table and size chart); each page must render with no console error and no
# script error, and every chart must have its bars or lines with a non-zero size. The checks run
# in a script appended to a copy of the page (the report itself has none) and write their
# verdict into the DOM, which --dump-dom prints. Exits 77 (meson: skipped) without chromium.
# Environment: LLMC_BIN (the llmc binary) and LLMC_FIXTURES (the built fixtures), as meson test
# sets them.
set -euo pipefail
chromium=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chromium" ]; then
  echo "SKIPPED: chromium is not installed (apt-get install chromium, or bash .ci/install-deps)"
  exit 77
fi
: "${LLMC_BIN:?set LLMC_BIN to the llmc binary}" "${LLMC_FIXTURES:?set LLMC_FIXTURES}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# The distill run whose learning curves the report charts (three evaluations, as `llmc distill`
# writes them).
cat > "$work/distill.json" <<'JSON'
{"command": "distill", "details": {"best_metric": "jaccard_samples", "history": [
  {"epoch": 1, "step": 4, "train_loss": 0.71, "jaccard_samples": 0.21},
  {"epoch": 2, "step": 8, "train_loss": 0.52, "jaccard_samples": 0.34},
  {"epoch": 3, "step": 12, "train_loss": 0.47, "jaccard_samples": 0.38}]}}
JSON
cat > "$work/compare.yaml" <<YAML
recipe_version: 1
output: out
threads: 1
data: {path: $LLMC_FIXTURES/distill_test.jsonl, labels: labels, batch_size: 16}
task: {type: multi-label}
bench: {warmup: 1, runs: 3}
compare:
  models:
    - {name: teacher, path: $LLMC_FIXTURES/distill_teacher.pt}
    - {name: "student <distilled> & co", path: $LLMC_FIXTURES/distill_student.pt, distill_report: distill.json}
  temperature: 4
  cost: {hardware_per_hour: 0.1, requests_per_month: 1000000, tokens_per_request: 100,
         api_price_per_1k_tokens: 0.001}
YAML
(cd "$work" && "$LLMC_BIN" -q compare compare.yaml > stdout.txt) || fail "llmc compare exited $?"
html="$work/out/report.html"
[ -s "$html" ] || fail "no report.html"

# Renders `html` (a report.html) in headless Chromium with the checks appended and prints their
# verdict: one line per chart (size, marks, empty marks) and `errors N`. `name` keeps its files
# apart.
render_checks() {
local html=$1 name=$2
# Self-contained: nothing a browser would fetch (the SVG namespace is a name, not a fetch).
if grep -Eq '<script|<link|<img|<iframe|src=|url\(|@import|@font-face' "$html"; then
  fail "report.html references something outside itself: $(grep -Eo '<script|<link|<img|<iframe|src=|url\(|@import|@font-face' "$html" | sort -u | tr '\n' ' ')"
fi

# The copy with the checks: errors recorded from the start, the verdict at the end of the body.
{
  sed -n '1,/<head>/p' "$html"
  cat <<'JS'
<script>
window.__llmcErrors = [];
window.addEventListener('error', function (e) { window.__llmcErrors.push('error: ' + e.message); }, true);
(function () {
  var original = console.error;
  console.error = function () {
    window.__llmcErrors.push('console.error: ' + Array.prototype.join.call(arguments, ' '));
    original.apply(console, arguments);
  };
})();
</script>
JS
  sed -n '/<head>/,/<\/body>/{/<head>/d;/<\/body>/d;p}' "$html"
  cat <<'JS'
<script>
(function () {
  var lines = [];
  var figures = document.querySelectorAll('figure.chart');
  figures.forEach(function (f) {
    var svg = f.querySelector('svg');
    var box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
    var marks = f.querySelectorAll('rect.bar, polyline');
    var empty = 0;
    marks.forEach(function (m) {
      var b = m.getBBox();
      var ok = m.tagName === 'polyline' ? (b.width > 0 || b.height > 0) : (b.width > 0 && b.height > 0);
      if (!ok) empty++;
    });
    lines.push('chart ' + f.dataset.chart + ' svg ' + Math.round(box.width) + 'x' +
               Math.round(box.height) + ' marks ' + marks.length + ' empty ' + empty);
  });
  lines.push('errors ' + window.__llmcErrors.length);
  window.__llmcErrors.forEach(function (e) { lines.push('  ' + e); });
  var pre = document.createElement('pre');
  pre.id = 'llmc-check';
  pre.textContent = lines.join('\n');
  document.body.appendChild(pre);
})();
</script>
</body>
</html>
JS
} > "$work/$name-check.html"

"$chromium" --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
  --user-data-dir="$work/profile-$name" --enable-logging=stderr --v=0 \
  --dump-dom "file://$work/$name-check.html" > "$work/$name-dom.html" 2> "$work/$name-chromium.log" ||
  fail "chromium exited $?: $(tail -5 "$work/$name-chromium.log")"

local check
check=$(sed -n '/<pre id="llmc-check">/,/<\/pre>/p' "$work/$name-dom.html" | sed 's/<[^>]*>//g')
[ -n "$check" ] || fail "the check script did not run: $(head -c 500 "$work/$name-dom.html")"
if grep -Eq '(ERROR|WARNING):CONSOLE' "$work/$name-chromium.log"; then
  fail "console messages: $(grep -E '(ERROR|WARNING):CONSOLE' "$work/$name-chromium.log")"
fi
echo "$check"
}

check=$(render_checks "$html" compare)
echo "$check"
echo "$check" | grep -qx 'errors 0' || fail "errors in the page"
for chart in size latency memory metric cost learning-curves softmax; do
  line=$(echo "$check" | grep "^chart $chart " || true)
  [ -n "$line" ] || fail "chart $chart is missing"
  read -r _ _ _ size _ marks _ empty <<< "$line"
  case "$size" in 0x*|*x0) fail "chart $chart has no size ($size)";; esac
  [ "$marks" -gt 0 ] || fail "chart $chart has no bars or lines"
  [ "$empty" -eq 0 ] || fail "chart $chart has $empty bars or lines of zero size"
done
# Two models: a bar each in the size, latency, memory and metric charts, three in cost (the API).
for chart in size latency memory metric; do
  echo "$check" | grep -q "^chart $chart svg [0-9]*x[0-9]* marks 2 empty 0$" ||
    fail "chart $chart: expected 2 bars"
done
echo "$check" | grep -q "^chart cost svg [0-9]*x[0-9]* marks 3 empty 0$" || fail "chart cost: expected 3 bars"
grep -q 'student &lt;distilled&gt; &amp; co' "$html" || fail "model names are not escaped"
# `llmc run`'s report.html (the same writer, with the stages table): a pipeline of two stages.
cat > "$work/pipeline.yaml" <<YAML
recipe_version: 1
model: $LLMC_FIXTURES/distill_student.pt
output: pipeline
threads: 1
data: {path: $LLMC_FIXTURES/distill_test.jsonl, labels: labels, batch_size: 16}
task: {type: multi-label}
bench: {warmup: 1, runs: 2}
stages:
  - {name: int8, command: quantize, scheme: dynamic-int8}
  - {name: onnx, command: export-onnx, dynamic_axes: {input_ids: [batch, sequence], attention_mask: [batch, sequence]}}
YAML
(cd "$work" && "$LLMC_BIN" -q run pipeline.yaml > /dev/null) || fail "llmc run exited $?"
html="$work/pipeline/report.html"
[ -s "$html" ] || fail "no pipeline report.html"
check=$(render_checks "$html" pipeline)
echo "$check"
echo "$check" | grep -qx 'errors 0' || fail "errors in the pipeline page"
# The original and both stages: three bars in the size chart.
echo "$check" | grep -q "^chart size svg [0-9]*x[0-9]* marks 3 empty 0$" ||
  fail "pipeline chart size: expected 3 bars"
grep -q '<h2>Stages</h2>' "$html" || fail "no stages table in the pipeline page"
grep -q 'Last passing artifact: <code>pipeline/onnx/model.onnx</code>' "$html" ||
  fail "the pipeline page does not name the last passing artifact"
echo "report.html renders in $("$chromium" --version 2>/dev/null | head -1)"
