// W2 (LSTM forward) and W1 (LSTM training step: forward + backward) of ../../shared/BENCHMARKS.md,
// compiled with @recur/graph-compiler, on the wasm backend (1 and 2 threads) and the js backend,
// plus the GEMM alone. Runs are interleaved round by round so that load from other work on the
// machine spreads over all configurations; medians (and min) in milliseconds.
// Run with `pnpm bench` from this package (builds first), or `node bench/bench.mjs` after a build.
// Options (environment): ROUNDS (default 15), JS_ROUNDS (default 3), ONLY=wasm to skip js.
import { JsBackend } from '@recur/backend-js';
import { compileScan } from '@recur/graph-compiler';
import * as R from '@recur/tensor';
import { WasmBackend } from '../dist/index.js';

const B = 32;
const T = 64;
const D = 128;
const H = 256;
const G = 4 * H;
const ROUNDS = Number(process.env.ROUNDS ?? 15);
const JS_ROUNDS = Number(process.env.JS_ROUNDS ?? 3);

const lstm = ({ h, c }, { x }, p) => {
  const gates = x
    .matmul(p.wih, { transB: true })
    .add(p.bih)
    .add(h.matmul(p.whh, { transB: true }).add(p.bhh));
  const [i, f, g, o] = gates.split(4, -1);
  const c2 = f.sigmoid().mul(c).add(i.sigmoid().mul(g.tanh()));
  const h2 = o.sigmoid().mul(c2.tanh());
  return { carry: { h: h2, c: c2 }, y: { h: h2 } };
};
const spec = {
  carry: { h: { shape: [B, H] }, c: { shape: [B, H] } },
  xs: { x: { shape: [B, D] } },
  params: { wih: { shape: [G, D] }, whh: { shape: [G, H] }, bih: { shape: [G] }, bhh: { shape: [G] } },
};

/** One workload instance on a backend: inputs, a forward-only and a training compilation. */
function setup(backend) {
  return R.withBackend(backend, () => {
    let seed = 1;
    const rnd = (shape, scale = 0.1) => R.keep(R.randn(shape, { seed: seed++ }).mul(scale));
    const init = { h: rnd([B, H]), c: rnd([B, H]) };
    const xs = { x: rnd([T, B, D], 1) };
    const params = { wih: rnd([G, D]), whh: rnd([G, H]), bih: rnd([G]), bhh: rnd([G]) };
    const dfinal = { h: rnd([B, H]), c: rnd([B, H]) };
    const dys = { h: rnd([T, B, H]) };
    const fwd = compileScan(lstm, spec, { steps: T, backend });
    const train = compileScan(lstm, spec, { steps: T, train: true, backend });
    return {
      forward() {
        R.withBackend(backend, () => R.tidy(() => fwd.forward(init, xs, params)));
      },
      trainStep() {
        R.withBackend(backend, () =>
          R.tidy(() => {
            train.forward(init, xs, params);
            train.backward(dfinal, dys);
          }),
        );
      },
    };
  });
}

function time(fn) {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

/** Wall time and the process's CPU time (all threads) of one run, in ms. */
function timeWithCpu(fn) {
  const c0 = process.cpuUsage();
  const wall = time(fn);
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1000 };
}

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[s.length >> 1], min: s[0], n: s.length };
};
const fmt = (x) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));

const configs = [
  { name: 'wasm, 1 thread', backend: await WasmBackend.create({ threads: 1 }), rounds: ROUNDS },
  { name: 'wasm, 2 threads', backend: await WasmBackend.create({ threads: 2 }), rounds: ROUNDS },
];
if (process.env.ONLY !== 'wasm') configs.push({ name: 'js', backend: new JsBackend(), rounds: JS_ROUNDS });
for (const c of configs) {
  c.work = setup(c.backend);
  c.fwd = [];
  c.train = [];
  c.fwdCpu = [];
  c.trainCpu = [];
  c.work.forward();
  c.work.trainStep();
  if (c.backend.threadingInfo) {
    const i = c.backend.threadingInfo;
    console.log(`${c.name}: ${i.threads} thread(s)${i.reason ? ` (${i.reason})` : ''}, fma ${i.fma}`);
  }
}

for (let r = 0; r < ROUNDS; r++) {
  for (const c of configs) {
    if (r >= c.rounds) continue;
    const f = timeWithCpu(() => c.work.forward());
    const t = timeWithCpu(() => c.work.trainStep());
    c.fwd.push(f.wall);
    c.fwdCpu.push(f.cpu);
    c.train.push(t.wall);
    c.trainCpu.push(t.cpu);
  }
}

console.log(`\nLSTM B=${B} T=${T} D=${D} H=${H}, f32, compiled scan; ms, median (min) over rounds`);
console.log(
  'CPU = process CPU time of the run, all threads (on one thread: the wall time of an idle machine)',
);
console.log('backend           W2 forward wall      W2 CPU      W1 training wall     W1 CPU');
for (const c of configs) {
  const f = stats(c.fwd);
  const t = stats(c.train);
  const fc = stats(c.fwdCpu);
  const tc = stats(c.trainCpu);
  console.log(
    `${c.name.padEnd(16)}  ${`${fmt(f.median)} (${fmt(f.min)})`.padEnd(19)}  ${fmt(fc.median).padEnd(10)}  ${`${fmt(t.median)} (${fmt(t.min)})`.padEnd(19)}  ${fmt(tc.median).padEnd(8)} [${f.n} rounds]`,
  );
}
const js = configs.find((c) => c.name === 'js');
if (js) {
  for (const c of configs.filter((x) => x !== js)) {
    console.log(
      `${c.name}: ${(stats(js.fwd).median / stats(c.fwd).median).toFixed(1)}x js forward, ${(stats(js.train).median / stats(c.train).median).toFixed(1)}x js training step`,
    );
  }
}

// W3: batch 1, D=128, H=512: the whole sequence (T=100) and streaming (T=1 per call, state carried).
{
  const [B3, T3, D3, H3] = [1, 100, 128, 512];
  const spec3 = {
    carry: { h: { shape: [B3, H3] }, c: { shape: [B3, H3] } },
    xs: { x: { shape: [B3, D3] } },
    params: {
      wih: { shape: [4 * H3, D3] },
      whh: { shape: [4 * H3, H3] },
      bih: { shape: [4 * H3] },
      bhh: { shape: [4 * H3] },
    },
  };
  console.log(
    `\nW3: LSTM B=${B3} D=${D3} H=${H3}; whole sequence T=${T3} (ms) and streaming (us per token), median (min)`,
  );
  for (const c of configs) {
    const backend = c.backend;
    const r = R.withBackend(backend, () => {
      let seed = 100;
      const rnd = (shape, scale = 0.1) => R.keep(R.randn(shape, { seed: seed++ }).mul(scale));
      const params = {
        wih: rnd([4 * H3, D3]),
        whh: rnd([4 * H3, H3]),
        bih: rnd([4 * H3]),
        bhh: rnd([4 * H3]),
      };
      const xs = rnd([T3, B3, D3], 1);
      const init = { h: rnd([B3, H3]), c: rnd([B3, H3]) };
      const whole = compileScan(lstm, spec3, { steps: T3, backend });
      const one = compileScan(lstm, spec3, { steps: 1, backend });
      const tokens = Array.from({ length: T3 }, (_, t) => R.keep(xs.slice([t], [t + 1])));
      const stream = () => {
        let state = { h: R.keep(init.h.mul(1)), c: R.keep(init.c.mul(1)) };
        for (const x of tokens) {
          const out = R.tidy(() => one.forward(state, { x }, params));
          state.h.dispose();
          state.c.dispose();
          state = { h: out.final.h, c: out.final.c };
          out.ys.h.dispose();
        }
        state.h.dispose();
        state.c.dispose();
      };
      const seq = () => R.tidy(() => whole.forward(init, { x: xs }, params));
      for (let i = 0; i < 2; i++) {
        seq();
        stream();
      }
      const rounds = c.name === 'js' ? 2 : 10;
      const ts = [];
      const ps = [];
      for (let i = 0; i < rounds; i++) {
        ts.push(time(seq));
        ps.push((time(stream) * 1000) / T3);
      }
      return { whole: stats(ts), token: stats(ps) };
    });
    console.log(
      `${c.name.padEnd(16)}  sequence ${fmt(r.whole.median)} (${fmt(r.whole.min)}) ms   streaming ${fmt(r.token.median)} (${fmt(r.token.min)}) us/token`,
    );
  }
}

// GEMM alone through the Backend interface, on the shapes of the workload.
const shapes = [
  { name: 'recurrent  [32x256]x[256x1024]^T', m: 32, k: 256, n: 1024, transB: true },
  { name: 'hoisted  [2048x128]x[128x1024]^T', m: 2048, k: 128, n: 1024, transB: true, bias: true },
  { name: 'backward dh [32x1024]x[1024x256]', m: 32, k: 1024, n: 256 },
  { name: 'weight grad [1024x2048]^Tx[2048x256]', m: 1024, k: 2048, n: 256, transA: true },
];
console.log('\nGEMM, f32, GFLOP/s: median (max)');
for (const c of configs.filter((x) => x.name !== 'js')) {
  const b = c.backend;
  for (const s of shapes) {
    const buf = (n) => {
      const x = b.alloc('f32', n);
      b.write(
        x,
        Float32Array.from({ length: n }, (_, i) => Math.sin(i)),
      );
      return x;
    };
    const call = {
      a: buf(s.m * s.k),
      b: buf(s.k * s.n),
      out: b.alloc('f32', s.m * s.n),
      batch: 1,
      m: s.m,
      n: s.n,
      k: s.k,
      transA: !!s.transA,
      transB: !!s.transB,
      aOffset: 0,
      bOffset: 0,
      outOffset: 0,
      aBatchStride: 0,
      bBatchStride: 0,
      bias: s.bias ? { buffer: buf(s.n), offset: 0 } : null,
      accumulate: false,
    };
    const reps = s.m * s.n * s.k > 1e8 ? 10 : 100;
    for (let i = 0; i < 3; i++) b.matmul(call);
    const ts = [];
    for (let i = 0; i < reps; i++) ts.push(time(() => b.matmul(call)));
    const st = stats(ts);
    const gf = (ms) => ((2 * s.m * s.n * s.k) / ms / 1e6).toFixed(1);
    console.log(`${c.name.padEnd(16)} ${s.name.padEnd(38)} ${gf(st.median)} (${gf(st.min)})`);
    for (const x of [call.a, call.b, call.out, call.bias?.buffer]) if (x) b.free(x);
  }
}
for (const c of configs) c.backend.dispose();
