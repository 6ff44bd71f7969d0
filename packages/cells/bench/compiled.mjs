// Eager against compiled execution of a recurrent layer: one training step (forward + backward)
// on the JS backend, on a batch shaped like a character-level names model (B=64, T≈10, D≈60).
// Both modes run interleaved in one process so that machine load affects them alike; the report
// gives medians and their ratio.
//
//   pnpm --filter @recur/cells build && node packages/cells/bench/compiled.mjs [--cell gru] [--hidden 128]
//     [--batch 64] [--steps 10] [--input 60] [--layers 1] [--rounds 15] [--lengths] [--json]
import { JsBackend } from '@recur/backend-js';
import { Rng, setBackend, tensor, tidy } from '@recur/tensor';
import { GRU, LSTM, RNN } from '../dist/index.js';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
};
const cell = opt('cell', 'gru');
const hidden = Number(opt('hidden', 128));
const batch = Number(opt('batch', 64));
const steps = Number(opt('steps', 10));
const input = Number(opt('input', 60));
const layers = Number(opt('layers', 1));
const rounds = Number(opt('rounds', 15));
const withLengths = args.includes('--lengths');
const asJson = args.includes('--json');

setBackend(new JsBackend());
const Layer = { gru: GRU, lstm: LSTM, rnn: RNN }[cell];
if (!Layer) throw new Error(`--cell: expected gru, lstm or rnn, found ${cell}`);
const make = (compiled) =>
  new Layer({ inputSize: input, hiddenSize: hidden, numLayers: layers, seed: 1, compiled });
const eager = make(false);
const compiled = make(true);

const rng = new Rng(7);
const xs = Float32Array.from({ length: steps * batch * input }, () => rng.uniform() * 2 - 1);
const x = tensor(xs, [steps, batch, input]);
// Names are 3 to T characters long.
const lengths = withLengths
  ? Array.from({ length: batch }, () => 3 + Math.floor(rng.uniform() * (steps - 2)))
  : undefined;

const step = (layer) =>
  tidy(() => {
    const r = layer.forward(x, lengths ? { lengths } : {});
    r.output.square().mean().add(r.hN.sum()).backward();
  });

const time = (fn) => {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
};
// CPU time of this process: less disturbed than wall time by other processes on a shared machine.
const cpuTime = (fn) => {
  const c0 = process.cpuUsage();
  fn();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
};

// The first compiled call compiles; time it apart, then warm both up.
const firstCompiled = time(() => step(compiled));
const firstEager = time(() => step(eager));
for (let i = 0; i < 3; i++) {
  step(eager);
  step(compiled);
}
const te = [];
const tc = [];
const ce = [];
const cc = [];
for (let i = 0; i < rounds; i++) {
  te.push(time(() => step(eager)));
  tc.push(time(() => step(compiled)));
  ce.push(cpuTime(() => step(eager)));
  cc.push(cpuTime(() => step(compiled)));
  eager.zeroGrad();
  compiled.zeroGrad();
}
const median = (a) => {
  const s = [...a].sort((p, q) => p - q);
  return s[Math.floor(s.length / 2)];
};
const stats = compiled.compileStats();
const result = {
  workload: `${cell.toUpperCase()}-${hidden} ×${layers}, training step, f32, js backend`,
  shape: { batch, steps, input, hidden, layers, lengths: withLengths },
  eagerMs: median(te),
  compiledMs: median(tc),
  speedup: median(te) / median(tc),
  eagerCpuMs: median(ce),
  compiledCpuMs: median(cc),
  cpuSpeedup: median(ce) / median(cc),
  firstCallMs: { eager: firstEager, compiled: firstCompiled },
  compileMs: stats.compileMs,
  programs: stats.programs,
  kernelsPerStep: stats.last?.kernelsPerStep,
  rounds,
};
if (asJson) {
  console.log(JSON.stringify(result, null, 2));
} else {
  console.log(result.workload);
  console.log(
    `  B=${batch} T=${steps} D=${input}${withLengths ? ', variable lengths' : ''}; median of ${rounds}`,
  );
  console.log(`  eager     ${result.eagerMs.toFixed(2)} ms wall, ${result.eagerCpuMs.toFixed(2)} ms CPU`);
  console.log(
    `  compiled  ${result.compiledMs.toFixed(2)} ms wall, ${result.compiledCpuMs.toFixed(2)} ms CPU  (${result.speedup.toFixed(2)}× faster by wall time, ${result.cpuSpeedup.toFixed(2)}× by CPU time)`,
  );
  console.log(
    `  first compiled call ${firstCompiled.toFixed(1)} ms, of which compiling ${stats.compileMs.toFixed(1)} ms (${stats.programs} program(s))`,
  );
}
eager.dispose();
compiled.dispose();
