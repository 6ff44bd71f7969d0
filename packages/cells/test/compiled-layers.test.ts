import { JsBackend } from '@recur/backend-js';
import { trace } from '@recur/graph-compiler';
import {
  type Backend,
  type BackendBuffer,
  backward,
  engine,
  keep,
  noGrad,
  Rng,
  type Tensor,
  tensor,
  tidy,
  withBackend,
  zeros,
} from '@recur/tensor';
import * as fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { CellsError, GRU, LSTM, type RecurrentLayer, RNN } from '../src/index.js';
import { caught, expectClose, useJsBackend, values } from './helpers.js';

beforeAll(() => {
  useJsBackend();
});

type Kind = 'rnn_tanh' | 'rnn_relu' | 'lstm' | 'lstm_proj' | 'gru' | 'gru_reset_before';
const KINDS: Kind[] = ['rnn_tanh', 'rnn_relu', 'lstm', 'lstm_proj', 'gru', 'gru_reset_before'];
type DT = 'f32' | 'f64';

interface Config {
  kind: Kind;
  inputSize: number;
  hiddenSize: number;
  numLayers: number;
  bidirectional: boolean;
  batchFirst: boolean;
  dropout: number;
  seed: number;
  bias?: boolean;
}

function makeLayer(c: Config, dtype: DT, compiled: boolean): RecurrentLayer {
  const { kind, ...rest } = c;
  const o = { ...rest, dtype, compiled };
  switch (kind) {
    case 'rnn_tanh':
      return new RNN(o);
    case 'rnn_relu':
      return new RNN({ ...o, nonlinearity: 'relu' });
    case 'lstm':
      return new LSTM(o);
    case 'lstm_proj':
      return new LSTM({ ...o, projSize: c.hiddenSize - 1 });
    case 'gru':
      return new GRU(o);
    case 'gru_reset_before':
      return new GRU({ ...o, resetAfter: false });
  }
}

const rand = (rng: Rng, shape: number[], dtype: DT): Tensor =>
  tensor(
    Float64Array.from(
      values(
        rng,
        shape.reduce((a, b) => a * b, 1),
      ),
    ),
    shape,
    { dtype },
  );

interface Run {
  output: Tensor;
  hN: Tensor;
  cN?: Tensor;
  grads: Map<string, Tensor>;
}

/**
 * Forward with initial states and lengths, then backward of Σ output·dy + Σ hN·dh (+ Σ cN·dc) with
 * seeded cotangents; returns the results and the gradients of x, h0, c0 and every parameter.
 */
function runLayer(
  layer: RecurrentLayer,
  c: Config,
  dims: { steps: number; batch: number; lengths?: number[] | undefined },
  dtype: DT,
  seed: number,
): Run {
  const rng = new Rng(seed);
  const { steps, batch } = dims;
  const dirs = c.bidirectional ? 2 : 1;
  const hOut = c.kind === 'lstm_proj' ? c.hiddenSize - 1 : c.hiddenSize;
  const xShape = c.batchFirst ? [batch, steps, c.inputSize] : [steps, batch, c.inputSize];
  const x = rand(rng, xShape, dtype).requiresGrad_();
  const h0 = rand(rng, [c.numLayers * dirs, batch, hOut], dtype).requiresGrad_();
  const isLstm = layer instanceof LSTM;
  const c0 = isLstm ? rand(rng, [c.numLayers * dirs, batch, c.hiddenSize], dtype).requiresGrad_() : undefined;
  const outShape = c.batchFirst ? [batch, steps, dirs * hOut] : [steps, batch, dirs * hOut];
  const dy = rand(rng, outShape, dtype);
  const dh = rand(rng, [c.numLayers * dirs, batch, hOut], dtype);
  const dc = rand(rng, [c.numLayers * dirs, batch, c.hiddenSize], dtype);
  const opts = { h0, ...(dims.lengths ? { lengths: dims.lengths } : {}) };
  const r: { output: Tensor; hN: Tensor; cN?: Tensor } = isLstm
    ? (layer as LSTM).forward(x, { ...opts, c0: c0! })
    : (layer as RNN).forward(x, opts);
  let loss = r.output.mul(dy).sum().add(r.hN.mul(dh).sum());
  if (r.cN) loss = loss.add(r.cN.mul(dc).sum());
  backward(loss);
  const grads = new Map<string, Tensor>([
    ['x', x.grad!],
    ['h0', h0.grad!],
  ]);
  if (c0) grads.set('c0', c0.grad!);
  for (const [name, p] of layer.namedParameters()) grads.set(name, p.grad!);
  return { output: r.output, hN: r.hN, ...(r.cN ? { cN: r.cN } : {}), grads };
}

/** Runs one configuration eagerly and compiled (two layers built from one seed) and compares. */
function compareModes(
  c: Config,
  dims: { steps: number; batch: number; lengths?: number[] | undefined },
  dtype: DT,
): void {
  const tol = dtype === 'f64' ? 1e-11 : 1e-5;
  tidy(() => {
    const eagerLayer = makeLayer(c, dtype, false);
    const compiledLayer = makeLayer(c, dtype, true);
    const e = runLayer(eagerLayer, c, dims, dtype, c.seed + 100);
    const k = runLayer(compiledLayer, c, dims, dtype, c.seed + 100);
    expectClose(k.output, e.output, tol, 'output');
    expectClose(k.hN, e.hN, tol, 'hN');
    if (e.cN) expectClose(k.cN!, e.cN, tol, 'cN');
    expect([...k.grads.keys()]).toEqual([...e.grads.keys()]);
    for (const [name, g] of e.grads) {
      expect(g, `eager gradient of ${name}`).toBeDefined();
      expectClose(k.grads.get(name)!, g, tol, `gradient of ${name}`);
    }
    const stats = compiledLayer.compileStats();
    expect(stats.compiles).toBe(c.numLayers * (c.bidirectional ? 2 : 1));
    expect(stats.programs).toBe(stats.compiles);
    eagerLayer.dispose();
    compiledLayer.dispose();
  });
}

describe('compiled layers equal eager ones: outputs, final states and every gradient', () => {
  const cases: [Kind, number, boolean, boolean, boolean][] = [];
  for (const kind of KINDS)
    for (const layers of [1, 2, 3])
      for (const bi of [false, true])
        for (const lengths of [false, true])
          for (const bf of [false, true]) cases.push([kind, layers, bi, lengths, bf]);

  it.each(cases)(
    '%s, %i layer(s), bidirectional %s, lengths %s, batchFirst %s',
    (kind, layers, bi, withLengths, bf) => {
      const c: Config = {
        kind,
        inputSize: 3,
        hiddenSize: 4,
        numLayers: layers,
        bidirectional: bi,
        batchFirst: bf,
        dropout: layers > 1 ? 0.3 : 0,
        seed: layers * 10 + (bi ? 1 : 0),
      };
      const dims = { steps: 5, batch: 3, lengths: withLengths ? [5, 2, 4] : undefined };
      compareModes(c, dims, 'f64');
      compareModes(c, dims, 'f32');
    },
  );

  it('property: random kinds, sizes, layers, directions, lengths and layouts (f64)', () => {
    fc.assert(
      fc.property(
        fc.record({
          kind: fc.constantFrom(...KINDS),
          inputSize: fc.integer({ min: 1, max: 4 }),
          hiddenSize: fc.integer({ min: 2, max: 5 }),
          numLayers: fc.integer({ min: 1, max: 3 }),
          bidirectional: fc.boolean(),
          batchFirst: fc.boolean(),
          dropout: fc.constantFrom(0, 0.5),
          bias: fc.boolean(),
          seed: fc.integer({ min: 0, max: 1000 }),
          steps: fc.integer({ min: 1, max: 5 }),
          batch: fc.integer({ min: 1, max: 4 }),
          withLengths: fc.boolean(),
          lengthSeed: fc.integer({ min: 0, max: 1000 }),
        }),
        ({ steps, batch, withLengths, lengthSeed, ...c }) => {
          const rng = new Rng(lengthSeed);
          const lengths = withLengths
            ? Array.from({ length: batch }, () => 1 + Math.floor(rng.uniform() * steps))
            : undefined;
          compareModes(c, { steps, batch, lengths }, 'f64');
        },
      ),
      { numRuns: 30, seed: 7 },
    );
  });

  it('unbatched input and eval mode (no dropout) agree too', () => {
    tidy(() => {
      const o = { inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true, dropout: 0.5, seed: 5 };
      const eager = new GRU({ ...o, dtype: 'f64' }).eval();
      const compiled = new GRU({ ...o, dtype: 'f64', compiled: true }).eval();
      const x = rand(new Rng(1), [6, 3], 'f64');
      const a = eager.forward(x);
      const b = compiled.forward(x);
      expectClose(b.output, a.output, 1e-12, 'output');
      expectClose(b.hN, a.hN, 1e-12, 'hN');
      eager.dispose();
      compiled.dispose();
    });
  });
});

describe('compiled program cache', () => {
  const opts = {
    inputSize: 3,
    hiddenSize: 4,
    numLayers: 2,
    bidirectional: true,
    seed: 1,
    dtype: 'f64' as const,
  };

  it('compiles once per cell and shape; later calls with the same shapes reuse the programs', () => {
    const lstm = new LSTM({ ...opts, compiled: true });
    const step = (steps: number, lengths?: number[]): void =>
      tidy(() => {
        const x = rand(new Rng(steps), [steps, 2, 3], 'f64');
        const r = lstm.forward(x, lengths ? { lengths } : {});
        r.output.sum().add(r.cN.sum()).backward();
      });
    step(5);
    const first = lstm.compileStats();
    expect(first.compiles).toBe(4); // 2 layers × 2 directions
    expect(first.last?.kernelsPerStep.backward).toBeGreaterThan(0);
    step(5);
    step(5);
    const again = lstm.compileStats();
    expect(again.compiles).toBe(4);
    expect(again.reuses).toBe(8);
    expect(again.recomputes).toBe(0);
    step(7); // a new length compiles new programs
    expect(lstm.compileStats().compiles).toBe(8);
    step(7, [7, 3]); // padding runs a masked variant
    expect(lstm.compileStats().compiles).toBe(12);
    step(7, [2, 4]);
    expect(lstm.compileStats().compiles).toBe(12);
    noGrad(() => tidy(() => lstm.forward(rand(new Rng(0), [5, 2, 3], 'f64')))); // inference variant
    expect(lstm.compileStats().compiles).toBe(16);
    expect(lstm.compileStats().programs).toBe(16);
    lstm.clearCompiled();
    expect(lstm.compileStats().programs).toBe(0);
    lstm.dispose();
  });

  it('several forwards before one backward: each backward gets its own forward state', () => {
    tidy(() => {
      const eager = new GRU({ ...opts, numLayers: 1 });
      const compiled = new GRU({ ...opts, numLayers: 1, compiled: true });
      const total = (layer: GRU): void => {
        let loss: Tensor | null = null;
        for (let i = 0; i < 6; i++) {
          const x = rand(new Rng(i), [4, 2, 3], 'f64');
          const s = layer
            .forward(x)
            .output.mul(i + 1)
            .sum();
          loss = loss ? loss.add(s) : s;
        }
        loss!.backward();
      };
      total(eager);
      total(compiled);
      const other = new Map(compiled.namedParameters());
      for (const [name, p] of eager.namedParameters())
        expectClose(other.get(name)!.grad!, p.grad!, 1e-11, name);
      const s = compiled.compileStats();
      expect(s.programs).toBe(8); // 4 per direction at most
      expect(s.recomputes).toBeGreaterThan(0);
      eager.dispose();
      compiled.dispose();
    });
  });

  it('backward twice through a retained graph gives twice the gradient', () => {
    tidy(() => {
      const rnn = new RNN({ ...opts, compiled: true });
      const x = rand(new Rng(3), [4, 2, 3], 'f64').requiresGrad_();
      const loss = rnn.forward(x).output.square().sum();
      loss.backward({ retainGraph: true });
      const once = x.grad!.clone();
      loss.backward();
      expectClose(x.grad!, once.mul(2), 1e-12, 'x.grad');
      rnn.dispose();
    });
  });

  it('compile() switches modes on one layer with the same results', () => {
    tidy(() => {
      const gru = new GRU({ ...opts, resetAfter: false });
      expect(gru.compiled).toBe(false);
      const x = rand(new Rng(4), [5, 2, 3], 'f64');
      const a = gru.forward(x, { lengths: [5, 3] });
      expect(gru.compile()).toBe(gru);
      expect(gru.compiled).toBe(true);
      const b = gru.forward(x, { lengths: [5, 3] });
      expectClose(b.output, a.output, 1e-12, 'output');
      expectClose(b.hN, a.hN, 1e-12, 'hN');
      const m = gru.forward(x, {
        mask: [
          [1, 1, 1, 1, 1],
          [1, 1, 1, 0, 0],
        ],
      });
      expectClose(m.output, a.output, 1e-12, 'output with a mask');
      gru.compile(false);
      expect(gru.compiled).toBe(false);
      gru.dispose();
    });
  });

  it('training steps leave no tensors or buffers behind', () => {
    const backend = engine.backend;
    const lstm = new LSTM({
      inputSize: 3,
      hiddenSize: 4,
      numLayers: 2,
      bidirectional: true,
      dropout: 0.2,
      compiled: true,
    });
    const step = (): void => {
      tidy(() => {
        const x = rand(new Rng(1), [5, 2, 3], 'f32');
        const r = lstm.forward(x, { lengths: [5, 3] });
        r.output.sum().add(r.hN.sum()).backward();
      });
      lstm.zeroGrad();
    };
    step();
    const tensors = engine.liveTensors;
    const buffers = backend.memory().buffers;
    for (let i = 0; i < 5; i++) step();
    expect(engine.liveTensors).toBe(tensors);
    expect(backend.memory().buffers).toBe(buffers);
    lstm.dispose();
  });

  it('says how to trace a compiled layer with the graph compiler', () => {
    tidy(() => {
      const gru = new GRU({ inputSize: 3, hiddenSize: 2, compiled: true });
      const run = () => trace((ins) => gru.forward(ins.x!).output, { x: zeros([4, 2, 3]) });
      const e = caught(run);
      expect(e).toBeInstanceOf(CellsError);
      expect(e.message).toMatch(
        /GRU\.forward: expected eager execution .* Call layer\.compile\(false\) before tracing/,
      );
      gru.compile(false);
      expect(run().graph.nodes.length).toBeGreaterThan(0);
      gru.dispose();
    });
  });

  it('rejects a compiled option that is not a boolean', () => {
    const e = caught(() => new GRU({ inputSize: 3, hiddenSize: 2, compiled: 'yes' as never }));
    expect(e).toBeInstanceOf(CellsError);
    expect(e.message).toMatch(/GRU: expected compiled to be true or false, found "yes"/);
    expect(caught(() => new RNN({ inputSize: 3, hiddenSize: 2 }).compile(1 as never)).message).toMatch(
      /RNN\.compile: expected true or false, found 1/,
    );
  });
});

describe('compiled layers on a backend that reads asynchronously (as GPU backends do)', () => {
  // The JS backend without synchronous reads: the layer must trace its step on a CPU backend of
  // its own and run the programs on this one.
  const asyncOnly = (): Backend => {
    const js = new JsBackend();
    return Object.create(js, {
      name: { value: 'async-js' },
      readSync: { value: undefined },
      read: { value: async (b: BackendBuffer) => js.readSync(b) },
      capabilities: { value: { ...js.capabilities, syncRead: false } },
    }) as Backend;
  };

  it('traces on the CPU and gives the eager outputs and gradients (GRU, whose step captures a constant)', async () => {
    const target = asyncOnly();
    const run = async (compiled: boolean) => {
      const layer = withBackend(target, () => new GRU({ inputSize: 3, hiddenSize: 4, seed: 2, compiled }));
      const r = withBackend(target, () =>
        tidy(() => {
          const x = rand(new Rng(4), [5, 2, 3], 'f32');
          const out = layer.forward(x);
          out.output.mul(out.output).sum().backward();
          return keep(out.output);
        }),
      );
      const values = [Array.from(await r.data())];
      for (const p of layer.parameters()) values.push(Array.from(await p.grad!.data()));
      expect(layer.parameters()[0]!.backend.name).toBe('async-js');
      layer.dispose();
      return values;
    };
    const eager = await run(false);
    const compiled = await run(true);
    for (let i = 0; i < eager.length; i++) {
      for (let j = 0; j < eager[i]!.length; j++) expect(compiled[i]![j]).toBeCloseTo(eager[i]![j]!, 5);
    }
  });
});
