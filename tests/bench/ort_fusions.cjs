#!/usr/bin/env node
// What ONNX Runtime makes of two ONNX files: each is loaded with all graph optimizations and
// the optimized graph written out (the `optimizedModelFilePath` session option); the op types of
// both optimized graphs are counted and printed side by side, fused ops (Attention,
// SkipLayerNormalization, FastGelu, BiasGelu, FusedMatMul, ...) included. Tells which fusions
// fire on one file and not the other. Prints JSON.
// Usage: node ort_fusions.cjs A.onnx B.onnx OUTDIR
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require(path.join(__dirname, '..', '..', 'tools', 'ort', 'node_modules', 'onnxruntime-node'));

// Protobuf wire format, as much as needed: ModelProto.graph (7) -> GraphProto.node (1) ->
// NodeProto.op_type (4) and domain (7); subgraphs of If/Loop nodes are not walked.
function varint(buf, pos) {
  let v = 0n, shift = 0n;
  for (;;) {
    const b = buf[pos++];
    v |= BigInt(b & 0x7f) << shift;
    if (!(b & 0x80)) return [v, pos];
    shift += 7n;
  }
}
function fields(buf, start, end, visit) {
  let pos = start;
  while (pos < end) {
    let key;
    [key, pos] = varint(buf, pos);
    const field = Number(key >> 3n), wire = Number(key & 7n);
    if (wire === 0) { [, pos] = varint(buf, pos); }
    else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) {
      let len;
      [len, pos] = varint(buf, pos);
      visit(field, pos, pos + Number(len));
      pos += Number(len);
    } else throw new Error(`unsupported wire type ${wire}`);
  }
}
function opTypes(file) {
  const buf = fs.readFileSync(file);
  const counts = {};
  fields(buf, 0, buf.length, (f, s, e) => {
    if (f !== 7) return;
    fields(buf, s, e, (gf, gs, ge) => {
      if (gf !== 1) return;
      let op = '', domain = '';
      fields(buf, gs, ge, (nf, ns, ne) => {
        if (nf === 4) op = buf.toString('utf8', ns, ne);
        if (nf === 7) domain = buf.toString('utf8', ns, ne);
      });
      const name = domain && domain !== 'ai.onnx' ? `${domain}.${op}` : op;
      counts[name] = (counts[name] || 0) + 1;
    });
  });
  return counts;
}

async function main() {
  const [a, b, outDir] = process.argv.slice(2);
  fs.mkdirSync(outDir, {recursive: true});
  const result = {};
  for (const [tag, file] of [['a', a], ['b', b]]) {
    const optimized = path.join(outDir, `${tag}.optimized.onnx`);
    await ort.InferenceSession.create(file, {graphOptimizationLevel: 'all', intraOpNumThreads: 1,
                                             optimizedModelFilePath: optimized});
    result[tag] = {file, original: opTypes(file), optimized: opTypes(optimized)};
  }
  const ops = [...new Set([...Object.keys(result.a.optimized), ...Object.keys(result.b.optimized)])].sort();
  const differ = {};
  for (const op of ops) {
    const x = result.a.optimized[op] || 0, y = result.b.optimized[op] || 0;
    if (x !== y) differ[op] = [x, y];
  }
  const total = (c) => Object.values(c).reduce((s, v) => s + v, 0);
  console.log(JSON.stringify({a: a, b: b,
                              nodes: {a: [total(result.a.original), total(result.a.optimized)],
                                      b: [total(result.b.original), total(result.b.optimized)]},
                              optimized_ops_that_differ: differ,
                              optimized_a: result.a.optimized}, null, 1));
}
main().catch((e) => { console.error(e.message); process.exit(1); });
