// Times compiled recurrent layers on whatever WebGPU adapter is present: the forward pass and a
// training step (forward + backward) of W1 (LSTM B=32 T=64 D=128 H=256), W4 (GRU, same shape) and
// W6 (LSTM B=64 T=128 D=512 H=512), with warm-up and medians, and a profile of where a forward
// pass spends its time (hoisted input GEMM, recurrent GEMMs, fused gate kernels).
//
//   pnpm --filter @recur/backend-webgpu bench                    # all workloads
//   node bench/lstm.mjs --only W1 --iters 5 --warmup 2 --json out.json
//   node bench/lstm.mjs --swiftshader only                       # force the CPU adapter
//   node bench/lstm.mjs --only smoke                             # a tiny LSTM: checks the script
//   node bench/lstm.mjs --submit-every 128                       # overlap CPU encoding with the GPU
//
// Needs the built packages: npx pnpm --filter @recur/backend-webgpu... build
import { renameSync, writeFileSync } from 'node:fs';
import { JsBackend } from '@recur/backend-js';
import { compileScan, Executable, names } from '@recur/graph-compiler';
import * as R from '@recur/tensor';
import { createNodeWebGpuBackend, requestNodeGpu } from '../dist/node.js';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const SWIFTSHADER = opt('swiftshader', 'fallback');
const JSON_OUT = opt('json', '');
// 0: one command buffer per sequence; N: submit every N dispatches (overlaps encoding with the GPU).
const SUBMIT_EVERY = Number(opt('submit-every', '0'));
const { info, swiftshader } = await requestNodeGpu({ swiftshader: SWIFTSHADER });
// SwiftShader runs compute shaders on the CPU, hundreds of times slower than a GPU: by default it
// gets the smallest workload and few runs (pass --only/--iters to insist).
const ITERS = Number(opt('iters', swiftshader ? '2' : '10'));
const WARMUP = Number(opt('warmup', swiftshader ? '1' : '3'));
const ONLY = opt('only', swiftshader ? 'W1' : 'W1,W4,W6').split(',');

const WORKLOADS = [
  { id: 'W1', cell: 'lstm', B: 32, T: 64, D: 128, H: 256 },
  { id: 'W4', cell: 'gru', B: 32, T: 64, D: 128, H: 256 },
  { id: 'W6', cell: 'lstm', B: 64, T: 128, D: 512, H: 512 },
  // A tiny shape that checks the script end to end in seconds (not run by default).
  { id: 'smoke', cell: 'lstm', B: 4, T: 8, D: 16, H: 32 },
].filter((w) => ONLY.includes(w.id));

const STEPS = {
  lstm: ({ h, c }, { x }, p) => {
    const gates = x
      .matmul(p.wih, { transB: true })
      .add(p.bih)
      .add(h.matmul(p.whh, { transB: true }).add(p.bhh));
    const [i, f, g, o] = gates.split(4, -1);
    const c2 = f.sigmoid().mul(c).add(i.sigmoid().mul(g.tanh()));
    const h2 = o.sigmoid().mul(c2.tanh());
    return { carry: { h: h2, c: c2 }, y: { h: h2 } };
  },
  gru: ({ h }, { x }, p) => {
    const gi = x.matmul(p.wih, { transB: true }).add(p.bih);
    const gh = h.matmul(p.whh, { transB: true }).add(p.bhh);
    const [ir, iz, inn] = gi.split(3, -1);
    const [hr, hz, hn] = gh.split(3, -1);
    const r = ir.add(hr).sigmoid();
    const z = iz.add(hz).sigmoid();
    const n = inn.add(r.mul(hn)).tanh();
    const h2 = R.sub(1, z).mul(n).add(z.mul(h));
    return { carry: { h: h2 }, y: { h: h2 } };
  },
};
const GATES = { lstm: 4, gru: 3 };

function spec(w) {
  const g = GATES[w.cell] * w.H;
  const carry = { h: { shape: [w.B, w.H] } };
  if (w.cell === 'lstm') carry.c = { shape: [w.B, w.H] };
  return {
    carry,
    xs: { x: { shape: [w.B, w.D] } },
    params: { wih: { shape: [g, w.D] }, whh: { shape: [g, w.H] }, bih: { shape: [g] }, bhh: { shape: [g] } },
  };
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Seeded inputs on the device for every name the programs read. */
function inputs(sp, T, gpu, train) {
  const rng = new R.Rng(1);
  const env = new Map();
  const put = (name, shape, scale) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const v = new Float32Array(n);
    for (let i = 0; i < n; i++) v[i] = scale * rng.normal();
    env.set(name, R.fromData(v, shape, { backend: gpu }));
  };
  for (const [k, v] of Object.entries(sp.carry)) put(names.init(k), v.shape, 0.5);
  put('x', [T, ...sp.xs.x.shape], 0.5);
  for (const [p, v] of Object.entries(sp.params)) put(p, v.shape, 0.05);
  if (train) {
    for (const [k, v] of Object.entries(sp.carry)) put(names.dfinal(k), v.shape, 1);
    put(names.dys('h'), [T, ...sp.carry.h.shape], 1);
  }
  return env;
}

/** Median milliseconds of `fn` (enqueue + wait for the device) after warm-up. */
async function time(gpu, fn) {
  for (let i = 0; i < WARMUP; i++) await fn();
  const ms = [];
  for (let i = 0; i < ITERS; i++) {
    await gpu.sync();
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  return { median: median(ms), min: Math.min(...ms), runs: ms.length };
}

async function runWorkload(w, gpu, js) {
  const sp = spec(w);
  const result = { ...w };
  for (const train of [false, true]) {
    const t0 = performance.now();
    const cs = compileScan(STEPS[w.cell], sp, { steps: w.T, train, backend: js });
    const compileMs = performance.now() - t0;
    const exe = new Executable(gpu, cs.lowered, cs.plan);
    const fwdStages = cs.programs.forward.stages.length;
    const env = inputs(sp, w.T, gpu, train);
    const before = gpu.stats();
    const encodeMs = [];
    const step = async () => {
      const t0 = performance.now();
      exe.run(env, 0, fwdStages);
      if (train) exe.run(env, fwdStages);
      const probe = exe.read(train ? names.dparam('whh') : names.final('h'));
      encodeMs.push(performance.now() - t0);
      await probe.data();
      probe.dispose();
    };
    await step();
    const one = gpu.stats();
    const t = await time(gpu, step);
    const flops = 2 * w.B * w.T * (w.D + w.H) * GATES[w.cell] * w.H * (train ? 3 : 1);
    result[train ? 'train' : 'forward'] = {
      ms: t.median,
      minMs: t.min,
      runs: t.runs,
      gflops: flops / (t.median * 1e6),
      encodeMs: median(encodeMs),
      compileMs,
      dispatches: one.dispatches - before.dispatches,
      submits: one.submits - before.submits,
    };
    for (const v of env.values()) v.dispose();
    exe.dispose();
  }
  result.profile = await profile(w, gpu);
  return result;
}

/** Where a forward pass goes: the kernels of one compiled forward, timed alone, each in one submit. */
async function profile(w, gpu) {
  const G = GATES[w.cell] * w.H;
  const buf = (n) => {
    const b = gpu.alloc('f32', n);
    const v = new Float32Array(n);
    for (let i = 0; i < n; i++) v[i] = ((i * 7919) % 1000) / 1000 - 0.5;
    gpu.write(b, v);
    return b;
  };
  const x = buf(w.T * w.B * w.D);
  const wih = buf(G * w.D);
  const whh = buf(G * w.H);
  const bias = buf(G);
  const xg = buf(w.T * w.B * G);
  const hs = buf((w.T + 1) * w.B * w.H);
  const c = buf(w.B * w.H);
  const gemm = (a, b, out, m, n, k, outOffset, aOffset, withBias, accumulate) =>
    gpu.matmul({
      a,
      b,
      out,
      batch: 1,
      m,
      n,
      k,
      transA: false,
      transB: true,
      aOffset,
      bOffset: 0,
      outOffset,
      aBatchStride: 0,
      bBatchStride: 0,
      bias: withBias ? { buffer: bias, offset: 0 } : null,
      accumulate,
    });
  const f = (i) => R.ex.input(i, 'f32');
  const sig = (e) => R.ex.unary('sigmoid', e);
  const tanh = (e) => R.ex.unary('tanh', e);
  const add = (a, b) => R.ex.binary('add', a, b);
  const mul = (a, b) => R.ex.binary('mul', a, b);
  // The LSTM cell update from the four gate blocks of step t (gates i, f, g, o) and c.
  const cNew = add(mul(sig(f(1)), f(4)), mul(sig(f(0)), tanh(f(2))));
  const gateKernel = (t) => {
    const off = t * w.B * G;
    gpu.elementwise({
      expr: cNew,
      inputs: [0, 1, 2, 3]
        .map((k) => ({ buffer: xg, offset: off + k * w.H, strides: [G, 1] }))
        .concat([{ buffer: c, offset: 0, strides: [w.H, 1] }]),
      out: c,
      shape: [w.B, w.H],
      more: [
        {
          expr: mul(sig(f(3)), tanh(cNew)),
          out: hs,
          offset: (t + 1) * w.B * w.H,
          strides: [w.H, 1],
        },
      ],
    });
  };
  const parts = {
    'input GEMM (hoisted, once)': () => gemm(x, wih, xg, w.T * w.B, G, w.D, 0, 0, true, false),
    [`recurrent GEMM ×${w.T}`]: () => {
      for (let t = 0; t < w.T; t++) gemm(hs, whh, xg, w.B, G, w.H, t * w.B * G, t * w.B * w.H, false, true);
    },
    [`fused gate kernel ×${w.T}`]: () => {
      for (let t = 0; t < w.T; t++) gateKernel(t);
    },
  };
  const out = {};
  for (const [name, enqueue] of Object.entries(parts)) {
    const t = await time(gpu, async () => {
      enqueue();
      await gpu.sync();
    });
    out[name] = t.median;
  }
  const empty = await time(gpu, async () => {
    await gpu.sync();
  });
  out['submit + wait (empty)'] = empty.median;
  for (const b of [x, wih, whh, bias, xg, hs, c]) gpu.free(b);
  return out;
}

const gpu = await createNodeWebGpuBackend({ swiftshader: SWIFTSHADER, submitEvery: SUBMIT_EVERY });
const js = new JsBackend();
console.log(
  `adapter: ${info.description} (${info.vendor} ${info.architecture})${swiftshader ? ' — SwiftShader, a CPU driver: timings are not GPU timings' : ''}`,
);
console.log(`limits: ${JSON.stringify(gpu.limits)}`);
console.log(`median of ${ITERS} runs after ${WARMUP} warm-up runs, each a full sequence ending in one read`);
const results = [];
for (const w of WORKLOADS) {
  const r = await runWorkload(w, gpu, js);
  results.push(r);
  const row = (k) =>
    `${r[k].ms.toFixed(2)} ms (min ${r[k].minMs.toFixed(2)}, ${r[k].gflops.toFixed(1)} GFLOP/s; encoding ${r[k].encodeMs.toFixed(2)} ms on the CPU; ${r[k].dispatches} dispatches, ${r[k].submits} submits)`;
  console.log(`\n${w.id} ${w.cell.toUpperCase()} B=${w.B} T=${w.T} D=${w.D} H=${w.H}`);
  console.log(`  forward:       ${row('forward')}`);
  console.log(`  training step: ${row('train')}`);
  console.log('  profile of a forward pass (each part alone, one submit each):');
  for (const [k, v] of Object.entries(r.profile)) console.log(`    ${k.padEnd(30)} ${v.toFixed(3)} ms`);
}
if (JSON_OUT) {
  const tmp = `${JSON_OUT}.tmp`;
  writeFileSync(tmp, JSON.stringify({ adapter: info, swiftshader, results }, null, 2));
  renameSync(tmp, JSON_OUT);
}
gpu.dispose();
