// One epoch of a character-level GRU names classifier (the course's task) on the JS backend,
// trained by the Trainer and by a bare hand-written loop over the same batches, to measure the
// loop's own overhead. Usage (after building): node bench/names-epoch.mjs [--hidden 128] [--batch 32]
// [--limit N] [--compiled]. Timings on a shared machine are noisy: compare the two rows of one run.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { JsBackend } from '@recur/backend-js';
import { Embedding, GRU, Linear, Module } from '@recur/cells';
import * as R from '@recur/tensor';
import { Adam, accuracy, crossEntropyLoss, Trainer } from '../dist/index.js';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const H = arg('hidden', 128);
const B = arg('batch', 32);
const LIMIT = arg('limit', Number.POSITIVE_INFINITY);
const COMPILED = process.argv.includes('--compiled'); // the GRU in @recur/cells' compiled mode

const dataDir =
  process.env.RECUR_DATA ?? resolve(dirname(fileURLToPath(import.meta.url)), '../../../../shared/data');
const namesDir = join(dataDir, 'names');
if (!existsSync(namesDir)) throw new Error(`expected the names data at ${namesDir}; set RECUR_DATA`);
const files = readdirSync(namesDir)
  .filter((f) => f.endsWith('.txt'))
  .sort();
const examples = [];
files.forEach((f, label) => {
  for (const line of readFileSync(join(namesDir, f), 'utf8').split('\n')) {
    const name = line.trim();
    if (name) examples.push({ name, label });
  }
});
const chars = [...new Set(examples.flatMap((e) => [...e.name]))].sort();
const index = new Map(chars.map((c, i) => [c, i + 1])); // 0 = padding
const data = examples.slice(0, LIMIT);
const avgLen = data.reduce((s, e) => s + [...e.name].length, 0) / data.length;

/** Shuffled, then bucketed: sorted by length within windows of 50 batches, so padding is small. */
function batches(rng) {
  const order = rng.shuffle(data.map((_, i) => i));
  const out = [];
  const window = B * 50;
  for (let w = 0; w < order.length; w += window) {
    const part = order.slice(w, w + window).sort((a, b) => data[a].name.length - data[b].name.length);
    for (let i = 0; i < part.length; i += B) {
      const items = part.slice(i, i + B).map((k) => data[k]);
      const seqs = items.map((e) => [...e.name].map((c) => index.get(c)));
      const steps = Math.max(...seqs.map((s) => s.length));
      const ids = new Int32Array(items.length * steps);
      seqs.forEach((s, j) => {
        ids.set(s, j * steps);
      });
      out.push({
        ids,
        steps,
        lengths: seqs.map((s) => s.length),
        labels: Int32Array.from(items, (e) => e.label),
      });
    }
  }
  return rng.shuffle(out);
}

class NamesModel extends Module {
  constructor() {
    super();
    this.emb = this.registerModule(
      'emb',
      new Embedding({ numEmbeddings: chars.length + 1, embeddingDim: 32, seed: 1 }),
    );
    this.gru = this.registerModule(
      'gru',
      new GRU({
        inputSize: 32,
        hiddenSize: H,
        batchFirst: true,
        seed: 2,
        ...(COMPILED ? { compiled: true } : {}),
      }),
    );
    this.head = this.registerModule(
      'head',
      new Linear({ inFeatures: H, outFeatures: files.length, seed: 3 }),
    );
  }
  forward(b) {
    const n = b.labels.length;
    const { hN } = this.gru.forward(this.emb.forward(R.tensor(b.ids, [n, b.steps], { dtype: 'i32' })), {
      lengths: b.lengths,
    });
    return this.head.forward(hN.reshape([n, H]));
  }
}

R.setBackend(new JsBackend());
const step = (model) => (b) => {
  const logits = model.forward(b);
  const targets = R.tensor(b.labels, [b.labels.length], { dtype: 'i32' });
  return { loss: crossEntropyLoss(logits, targets), predictions: logits, targets };
};

/** CPU seconds of this process since `start` (on a shared machine, closer to the work done than wall time). */
function cpuSeconds(start) {
  const u = process.cpuUsage(start);
  return (u.user + u.system) / 1e6;
}

async function withTrainer(extras) {
  const model = new NamesModel();
  const trainer = new Trainer({
    model,
    optimizer: new Adam(model, { lr: 0.003 }),
    step: step(model),
    trainData: (_, rng) => batches(rng),
    epochs: 1,
    seed: 1,
    ...(extras ? { clipGradNorm: 5, metrics: () => [accuracy()] } : {}),
  });
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const h = await trainer.fit();
  return { seconds: (performance.now() - t0) / 1000, cpu: cpuSeconds(c0), loss: h.epochs[0].loss };
}

function bareLoop(limitBatches = Number.POSITIVE_INFINITY) {
  const model = new NamesModel();
  const opt = new Adam(model, { lr: 0.003 });
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let sum = 0;
  let n = 0;
  for (const b of batches(new R.Rng(1)).slice(0, limitBatches)) {
    const loss = R.tidy(() => {
      const l = step(model)(b).loss;
      l.backward();
      return l.item();
    });
    opt.step();
    opt.zeroGrad();
    sum += loss * b.labels.length;
    n += b.labels.length;
  }
  return { seconds: (performance.now() - t0) / 1000, cpu: cpuSeconds(c0), loss: sum / n };
}

console.log(
  `names: ${data.length} names, ${files.length} classes, ${chars.length} characters, mean length ${avgLen.toFixed(2)}; GRU-${H}, batch ${B}`,
);
bareLoop(20); // warm-up: compile the kernels and JIT the loop before timing
const a = await withTrainer(false);
const b = bareLoop();
const c = await withTrainer(true);
const row = (name, r) =>
  `${name.padEnd(34)} ${r.seconds.toFixed(1).padStart(6)} s wall, ${r.cpu.toFixed(1).padStart(6)} s CPU per epoch, ${(data.length / r.cpu).toFixed(0)} names per CPU second, loss ${r.loss.toFixed(3)}`;
console.log(row('Trainer:', a));
console.log(row('bare loop:', b));
console.log(row('Trainer with clipping and accuracy:', c));
console.log(
  `CPU ratio Trainer / bare loop: ${(a.cpu / b.cpu).toFixed(3)}; with clipping and accuracy: ${(c.cpu / b.cpu).toFixed(3)}; live tensors after: ${R.engine.liveTensors}`,
);
