#!/usr/bin/env node
// llmc's ONNX Runtime runner (onnxruntime-node). llmc export-onnx writes a request directory:
//   request.json  {model, threads, runs: [{inputs: [{name, dtype, shape, file}]}],
//                  timing: {run, warmup, repeats} | null}
//   *.bin         raw little-endian tensor data
// and this script writes response.json {ort_version, outputs: [[{name, dtype, shape, file}]],
// latency_ms: [...], rss_before_bytes, rss_session_bytes, peak_rss_bytes} with the outputs as *.bin files.
// Errors go to stderr with exit code 1 (2 for a bad request).
'use strict';
const fs = require('fs');
const path = require('path');

function fail(code, message) {
  process.stderr.write(`ort_run: ${message}\n`);
  process.exit(code);
}

let ort;
try {
  ort = require('onnxruntime-node');
} catch (e) {
  fail(3, `onnxruntime-node is not installed next to this script (${e.message}); ` +
          `run: npm ci --ignore-scripts --prefix ${__dirname}`);
}

const ARRAYS = {
  float32: Float32Array, float64: Float64Array, int64: BigInt64Array, int32: Int32Array,
  int8: Int8Array, uint8: Uint8Array, bool: Uint8Array, int16: Int16Array,
};

function peakRss() {
  const m = fs.readFileSync('/proc/self/status', 'utf8').match(/VmHWM:\s+(\d+) kB/);
  return m ? Number(m[1]) * 1024 : 0;
}

function readTensor(dir, spec) {
  const Ctor = ARRAYS[spec.dtype];
  if (!Ctor) fail(2, `unsupported input dtype ${spec.dtype}`);
  const buf = fs.readFileSync(path.join(dir, spec.file));
  const data = new Ctor(buf.buffer, buf.byteOffset, buf.byteLength / Ctor.BYTES_PER_ELEMENT);
  return new ort.Tensor(spec.dtype, data, spec.shape);
}

async function main() {
  const dir = process.argv[2];
  if (!dir) fail(2, 'usage: ort_run.cjs REQUEST_DIR');
  const req = JSON.parse(fs.readFileSync(path.join(dir, 'request.json'), 'utf8'));
  const rssBefore = process.memoryUsage().rss;
  const session = await ort.InferenceSession.create(req.model, {
    intraOpNumThreads: req.threads || 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
  });
  const rssSession = process.memoryUsage().rss;
  const response = {
    ort_version: ort.env.versions ? ort.env.versions.common : '',
    input_names: session.inputNames,
    output_names: session.outputNames,
    outputs: [],
    latency_ms: [],
    rss_before_bytes: rssBefore,
    rss_session_bytes: rssSession,
  };
  const feeds = req.runs.map((run) => {
    const f = {};
    for (const spec of run.inputs) f[spec.name] = readTensor(dir, spec);
    return f;
  });
  for (let r = 0; r < feeds.length; ++r) {
    const result = await session.run(feeds[r]);
    const outs = [];
    session.outputNames.forEach((name, i) => {
      const t = result[name];
      const file = `out_${r}_${i}.bin`;
      fs.writeFileSync(path.join(dir, file),
                       Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
      outs.push({name, dtype: t.type, shape: t.dims, file});
    });
    response.outputs.push(outs);
  }
  if (req.timing) {
    const f = feeds[req.timing.run];
    for (let i = 0; i < req.timing.warmup; ++i) await session.run(f);
    for (let i = 0; i < req.timing.repeats; ++i) {
      const t0 = process.hrtime.bigint();
      await session.run(f);
      response.latency_ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  }
  response.peak_rss_bytes = peakRss();
  fs.writeFileSync(path.join(dir, 'response.json'), JSON.stringify(response));
}

main().catch((e) => fail(1, e && e.message ? e.message : String(e)));
