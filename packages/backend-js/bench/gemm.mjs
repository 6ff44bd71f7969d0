// GEMM throughput of the JS backend: median, min and max GFLOP/s over repetitions.
// Run with `pnpm bench` (builds first). Shapes: the LSTM gate GEMMs of BENCHMARKS.md W1/W2.
import { Gemm } from '../dist/index.js';

const shapes = [
  { name: 'W1 recurrent  [32x256]x[256x1024]', m: 32, k: 256, n: 1024 },
  { name: 'W1 hoisted  [2048x128]x[128x1024]', m: 2048, k: 128, n: 1024 },
  { name: 'square        [512x512]x[512x512]', m: 512, k: 512, n: 512 },
];
const reps = Number(process.env.REPS ?? 15);
const gemm = new Gemm();
for (const { name, m, k, n } of shapes) {
  const a = Float32Array.from({ length: m * k }, (_, i) => Math.sin(i));
  const b = Float32Array.from({ length: k * n }, (_, i) => Math.cos(i));
  const c = new Float32Array(m * n);
  const args = {
    a,
    b,
    c,
    m,
    n,
    k,
    transA: false,
    transB: false,
    aOffset: 0,
    bOffset: 0,
    cOffset: 0,
    bias: null,
    biasOffset: 0,
    accumulate: false,
  };
  for (let i = 0; i < 3; i++) gemm.run(args);
  const ms = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    gemm.run(args);
    ms.push(performance.now() - t0);
  }
  ms.sort((x, y) => x - y);
  const gflops = (t) => ((2 * m * n * k) / t / 1e6).toFixed(2);
  console.log(
    `${name}  median ${ms[ms.length >> 1].toFixed(2)} ms  ${gflops(ms[ms.length >> 1])} GFLOP/s (min ${gflops(ms.at(-1))}, max ${gflops(ms[0])})`,
  );
}
