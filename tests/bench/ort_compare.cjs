#!/usr/bin/env node
// Times two ONNX files in ONNX Runtime in one process, alternating run by run, on the same
// random token ids (batch x sequence, all-ones mask). Prints p50s and their ratio.
// Usage: node ort_compare.cjs A.onnx B.onnx RUNS THREADS [BATCH SEQ VOCAB]
'use strict';
const path = require('path');
const ort = require(path.join(__dirname, '..', '..', 'tools', 'ort', 'node_modules', 'onnxruntime-node'));

async function main() {
  const [a, b, runsArg, threadsArg, batchArg, seqArg, vocabArg] = process.argv.slice(2);
  const runs = Number(runsArg || 30), threads = Number(threadsArg || 1);
  const batch = Number(batchArg || 16), seq = Number(seqArg || 128), vocab = Number(vocabArg || 8000);
  const opts = {intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all',
                executionMode: 'sequential'};
  const sa = await ort.InferenceSession.create(a, opts);
  const sb = await ort.InferenceSession.create(b, opts);
  const ids = new BigInt64Array(batch * seq);
  let x = 12345;
  for (let i = 0; i < ids.length; ++i) { x = (x * 1103515245 + 12345) % 2147483648; ids[i] = BigInt(x % vocab); }
  const feeds = {input_ids: new ort.Tensor('int64', ids, [batch, seq]),
                 attention_mask: new ort.Tensor('int64', new BigInt64Array(batch * seq).fill(1n), [batch, seq])};
  const ra = await sa.run(feeds), rb = await sb.run(feeds);
  const oa = ra[sa.outputNames[0]].data, ob = rb[sb.outputNames[0]].data;
  let diff = 0;
  for (let i = 0; i < oa.length; ++i) diff = Math.max(diff, Math.abs(oa[i] - ob[i]));
  for (let i = 0; i < 3; ++i) { await sa.run(feeds); await sb.run(feeds); }
  const ta = [], tb = [];
  for (let i = 0; i < runs; ++i) {
    let t0 = process.hrtime.bigint(); await sa.run(feeds); ta.push(Number(process.hrtime.bigint() - t0) / 1e6);
    t0 = process.hrtime.bigint(); await sb.run(feeds); tb.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const p50 = (v) => { const s = [...v].sort((p, q) => p - q); return s[Math.floor(s.length / 2)]; };
  console.log(JSON.stringify({a_p50_ms: p50(ta), b_p50_ms: p50(tb), b_over_a: p50(tb) / p50(ta),
                              max_abs_diff_outputs: diff, ort_version: ort.env.versions ? ort.env.versions.common : ''}));
}
main().catch((e) => { console.error(e.message); process.exit(1); });
