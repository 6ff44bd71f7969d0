import { engine, Rng, slice, type Tensor, tensor, tidy, transpose, zeros } from '@recur/tensor';
import * as fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CellsError,
  GRU,
  GRUCell,
  LSTM,
  LSTMCell,
  type RecurrentLayer,
  RNN,
  RNNCell,
  StateDictError,
} from '../src/index.js';
import { caught, expectClose, maxAbsDiff, useJsBackend, values } from './helpers.js';
import { type RefWeights, refGru, refLstm, refRnn } from './reference.js';

beforeAll(() => {
  useJsBackend();
});

const rand = (rng: Rng, shape: number[], dtype: 'f32' | 'f64' = 'f64'): Tensor =>
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

type Kind = 'rnn_tanh' | 'rnn_relu' | 'lstm' | 'lstm_proj' | 'gru' | 'gru_reset_before';
const KINDS: Kind[] = ['rnn_tanh', 'rnn_relu', 'lstm', 'lstm_proj', 'gru', 'gru_reset_before'];

function makeLayer(
  kind: Kind,
  o: {
    inputSize: number;
    hiddenSize: number;
    numLayers: number;
    bidirectional: boolean;
    batchFirst: boolean;
    seed: number;
  },
): RecurrentLayer {
  const common = { ...o, dtype: 'f64' as const };
  switch (kind) {
    case 'rnn_tanh':
      return new RNN(common);
    case 'rnn_relu':
      return new RNN({ ...common, nonlinearity: 'relu' });
    case 'lstm':
      return new LSTM(common);
    case 'lstm_proj':
      return new LSTM({ ...common, projSize: o.hiddenSize - 1 });
    case 'gru':
      return new GRU(common);
    case 'gru_reset_before':
      return new GRU({ ...common, resetAfter: false });
  }
}

function forward(
  layer: RecurrentLayer,
  x: Tensor,
  o: { h0?: Tensor; c0?: Tensor; lengths?: number[] },
): { output: Tensor; hN: Tensor; cN?: Tensor } {
  if (layer instanceof LSTM) return layer.forward(x, o);
  const { c0: _, ...rest } = o;
  return (layer as RNN).forward(x, rest);
}

describe('shapes', () => {
  it('follow PyTorch: output [T, B, D·H] or batch first, states [L·D, B, H], projSize shrinks h', () => {
    tidy(() => {
      const x = zeros([6, 3, 5]);
      const lstm = new LSTM({ inputSize: 5, hiddenSize: 4, numLayers: 2, bidirectional: true, projSize: 3 });
      const r = lstm.forward(x);
      expect(r.output.shape).toEqual([6, 3, 6]);
      expect(r.hN.shape).toEqual([4, 3, 3]);
      expect(r.cN.shape).toEqual([4, 3, 4]);
      const gru = new GRU({ inputSize: 5, hiddenSize: 4, numLayers: 3, batchFirst: true });
      const g = gru.forward(zeros([3, 6, 5]));
      expect(g.output.shape).toEqual([3, 6, 4]);
      expect(g.hN.shape).toEqual([3, 3, 4]);
      const rnn = new RNN({ inputSize: 5, hiddenSize: 2, bidirectional: true });
      const u = rnn.forward(zeros([6, 5]));
      expect(u.output.shape).toEqual([6, 4]);
      expect(u.hN.shape).toEqual([2, 2]);
      expect(lstm.numParameters()).toBe(
        // PyTorch's count for LSTM(5, 4, num_layers=2, bidirectional=True, proj_size=3)
        2 * (16 * 5 + 16 * 3 + 32 + 3 * 4) + 2 * (16 * 6 + 16 * 3 + 32 + 3 * 4),
      );
    });
  });

  it('batch first gives the transpose of the time-major result', () => {
    tidy(() => {
      const rng = new Rng(3);
      const x = rand(rng, [4, 2, 3]);
      const a = new LSTM({ inputSize: 3, hiddenSize: 2, bidirectional: true, dtype: 'f64', seed: 9 });
      const b = new LSTM({
        inputSize: 3,
        hiddenSize: 2,
        bidirectional: true,
        dtype: 'f64',
        seed: 9,
        batchFirst: true,
      });
      const ra = a.forward(x, { lengths: [4, 2] });
      const rb = b.forward(transpose(x, [1, 0, 2]), { lengths: [4, 2] });
      expectClose(transpose(rb.output, [1, 0, 2]), ra.output, 0);
      expectClose(rb.hN, ra.hN, 0);
    });
  });
});

describe('variable-length batches', () => {
  it('each sequence gives what it gives alone: outputs up to its length, zeros after, its own final state', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...KINDS),
        fc.integer({ min: 1, max: 2 }),
        fc.boolean(),
        fc.boolean(),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 0, max: 1e6 }),
        (kind, numLayers, bidirectional, batchFirst, steps, batch, seed) => {
          tidy(() => {
            const rng = new Rng(seed);
            const lengths = Array.from({ length: batch }, () => 1 + rng.int(steps));
            const layer = makeLayer(kind, {
              inputSize: 2,
              hiddenSize: 3,
              numLayers,
              bidirectional,
              batchFirst,
              seed,
            });
            const dirs = bidirectional ? 2 : 1;
            const states = numLayers * dirs;
            const x = rand(rng, batchFirst ? [batch, steps, 2] : [steps, batch, 2]);
            const h0 = rand(rng, [states, batch, layer.outputSize]);
            const c0 = rand(rng, [states, batch, 3]);
            const full = forward(layer, x, { h0, c0, lengths });
            const width = dirs * layer.outputSize;
            for (let b = 0; b < batch; b++) {
              const len = lengths[b]!;
              const xb = batchFirst
                ? slice(x, [b, 0, 0], [b + 1, len, 2])
                : slice(x, [0, b, 0], [len, b + 1, 2]);
              const alone = forward(layer, xb, {
                h0: slice(h0, [0, b, 0], [states, b + 1, layer.outputSize]),
                c0: slice(c0, [0, b, 0], [states, b + 1, 3]),
              });
              const outB = batchFirst
                ? slice(full.output, [b, 0, 0], [b + 1, steps, width])
                : slice(full.output, [0, b, 0], [steps, b + 1, width]);
              const valid = batchFirst
                ? slice(outB, [0, 0, 0], [1, len, width])
                : slice(outB, [0, 0, 0], [len, 1, width]);
              expect(maxAbsDiff(valid, alone.output)).toBeLessThan(1e-12);
              const padded = batchFirst ? slice(outB, [0, len, 0]) : slice(outB, [len, 0, 0]);
              expect(Array.from(padded.dataSync()).every((v) => v === 0)).toBe(true);
              expect(
                maxAbsDiff(slice(full.hN, [0, b, 0], [states, b + 1, layer.outputSize]), alone.hN),
              ).toBeLessThan(1e-12);
              if (full.cN) {
                expect(maxAbsDiff(slice(full.cN, [0, b, 0], [states, b + 1, 3]), alone.cN!)).toBeLessThan(
                  1e-12,
                );
              }
            }
            layer.dispose();
          });
        },
      ),
      { numRuns: 40, seed: 7 },
    );
  });

  it('padded steps do not matter: other values there give the same result and zero gradient', () => {
    tidy(() => {
      const rng = new Rng(5);
      const lstm = new LSTM({ inputSize: 2, hiddenSize: 3, numLayers: 2, bidirectional: true, dtype: 'f64' });
      const lengths = [4, 1, 2];
      const base = values(rng, 4 * 3 * 2);
      const noisy = base.map((v, i) => {
        const t = Math.floor(i / 6);
        const b = Math.floor((i % 6) / 2);
        return t >= lengths[b]! ? v + 100 * rng.normal() : v;
      });
      const x1 = tensor(Float64Array.from(base), [4, 3, 2], { requiresGrad: true });
      const x2 = tensor(Float64Array.from(noisy), [4, 3, 2]);
      const r1 = lstm.forward(x1, { lengths });
      const r2 = lstm.forward(x2, { lengths });
      expect(maxAbsDiff(r1.output, r2.output)).toBe(0);
      expect(maxAbsDiff(r1.hN, r2.hN)).toBe(0);
      r1.output.sum().add(r1.hN.sum()).add(r1.cN.sum()).backward();
      const g = x1.grad!.dataSync();
      for (let i = 0; i < g.length; i++) {
        const t = Math.floor(i / 6);
        const b = Math.floor((i % 6) / 2);
        if (t >= lengths[b]!) expect(g[i]).toBe(0);
      }
      expect(Array.from(g).some((v) => v !== 0)).toBe(true);
    });
  });

  it('a [B, T] mask gives the same as lengths; full lengths give the same as none', () => {
    tidy(() => {
      const rng = new Rng(6);
      const gru = new GRU({
        inputSize: 2,
        hiddenSize: 2,
        bidirectional: true,
        batchFirst: true,
        dtype: 'f64',
      });
      const x = rand(rng, [2, 3, 2]);
      const byLengths = gru.forward(x, { lengths: [3, 2] });
      const byMask = gru.forward(x, {
        mask: [
          [1, 1, 1],
          [true, true, false],
        ],
      });
      const byTensorMask = gru.forward(x, { mask: tensor([1, 1, 1, 1, 1, 0], [2, 3], { dtype: 'i32' }) });
      expectClose(byMask.output, byLengths.output, 0);
      expectClose(byTensorMask.hN, byLengths.hN, 0);
      const byTensor = gru.forward(x, { lengths: tensor([3, 2], { dtype: 'i32' }) });
      expectClose(byTensor.output, byLengths.output, 0);
      const full = gru.forward(x, { lengths: Int32Array.from([3, 3]) });
      const none = gru.forward(x);
      expectClose(full.output, none.output, 0);
    });
  });
});

describe('cells', () => {
  function refWeights(w: {
    weightIh: Tensor;
    weightHh: Tensor;
    biasIh?: Tensor | undefined;
    biasHh?: Tensor | undefined;
  }): RefWeights {
    const rows = (t: Tensor): number[][] => t.arraySync() as number[][];
    const out: RefWeights = { wIh: rows(w.weightIh), wHh: rows(w.weightHh) };
    if (w.biasIh) out.bIh = w.biasIh.arraySync() as number[];
    if (w.biasHh) out.bHh = w.biasHh.arraySync() as number[];
    return out;
  }

  it('match a scalar reference of the equations (RNN tanh/relu, LSTM, GRU reset-after and reset-before)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 4 }),
        fc.boolean(),
        fc.integer({ min: 0, max: 1e6 }),
        (inputSize, hiddenSize, bias, seed) => {
          tidy(() => {
            const rng = new Rng(seed);
            const o = { inputSize, hiddenSize, bias, seed, dtype: 'f64' as const };
            const x = rand(rng, [2, inputSize]);
            const h = rand(rng, [2, hiddenSize]);
            const c = rand(rng, [2, hiddenSize]);
            const xs = x.arraySync() as number[][];
            const hs = h.arraySync() as number[][];
            const cs = c.arraySync() as number[][];
            const check = (got: Tensor, want: (b: number) => number[]): void => {
              const g = got.arraySync() as number[][];
              for (let b = 0; b < 2; b++) {
                want(b).forEach((v, j) => {
                  expect(Math.abs(g[b]![j]! - v)).toBeLessThan(1e-12);
                });
              }
            };
            for (const nl of ['tanh', 'relu'] as const) {
              const cell = new RNNCell({ ...o, nonlinearity: nl });
              const w = refWeights(cell.weights());
              check(cell.forward(x, h), (b) => refRnn(w, xs[b]!, hs[b]!, nl === 'relu'));
            }
            const lstm = new LSTMCell(o);
            const lw = refWeights(lstm.weights());
            const s = lstm.forward(x, { h, c });
            check(s.h, (b) => refLstm(lw, xs[b]!, hs[b]!, cs[b]!).h);
            check(s.c, (b) => refLstm(lw, xs[b]!, hs[b]!, cs[b]!).c);
            for (const resetAfter of [true, false]) {
              const gru = new GRUCell({ ...o, resetAfter });
              const gw = refWeights(gru.weights());
              check(gru.forward(x, h), (b) => refGru(gw, xs[b]!, hs[b]!, resetAfter));
            }
          });
        },
      ),
      { numRuns: 25, seed: 3 },
    );
  });

  it('a one-layer layer is its cell applied step by step (same state dict up to the _l0 suffix)', () => {
    tidy(() => {
      const rng = new Rng(8);
      const x = rand(rng, [3, 2, 4]);
      const h0 = rand(rng, [2, 3]);
      const c0 = rand(rng, [2, 3]);
      const lstm = new LSTM({ inputSize: 4, hiddenSize: 3, dtype: 'f64', seed: 1 });
      const cell = new LSTMCell({ inputSize: 4, hiddenSize: 3, dtype: 'f64', seed: 2 });
      cell.loadStateDict(new Map([...lstm.stateDict()].map(([k, v]) => [k.replace('_l0', ''), v])));
      const r = lstm.forward(x, { h0: h0.reshape([1, 2, 3]), c0: c0.reshape([1, 2, 3]) });
      let s = { h: h0, c: c0 };
      for (let t = 0; t < 3; t++) s = cell.forward(slice(x, [t, 0, 0], [t + 1, 2, 4]).reshape([2, 4]), s);
      expectClose(r.hN.reshape([2, 3]), s.h, 1e-15);
      expectClose(r.cN.reshape([2, 3]), s.c, 1e-15);
      const gru = new GRU({ inputSize: 4, hiddenSize: 3, dtype: 'f64', seed: 1, resetAfter: false });
      const gcell = new GRUCell({ inputSize: 4, hiddenSize: 3, dtype: 'f64', seed: 2, resetAfter: false });
      gcell.loadStateDict(new Map([...gru.stateDict()].map(([k, v]) => [k.replace('_l0', ''), v])));
      let h = h0;
      for (let t = 0; t < 3; t++) h = gcell.forward(slice(x, [t, 0, 0], [t + 1, 2, 4]).reshape([2, 4]), h);
      expectClose(gru.forward(x, { h0: h0.reshape([1, 2, 3]) }).hN.reshape([2, 3]), h, 1e-15);
    });
  });

  it('take unbatched input and default zero states', () => {
    tidy(() => {
      const cell = new RNNCell({ inputSize: 3, hiddenSize: 2, dtype: 'f64' });
      const x = tensor([0.5, -1, 2], { dtype: 'f64' });
      const h = cell.forward(x);
      expect(h.shape).toEqual([2]);
      expectClose(h.reshape([1, 2]), cell.forward(x.reshape([1, 3]), zeros([1, 2], { dtype: 'f64' })), 0);
      const s = new LSTMCell({ inputSize: 3, hiddenSize: 2 }).forward(x.cast('f32'));
      expect(s.c.shape).toEqual([2]);
    });
  });
});

describe('initialisation', () => {
  it('is uniform in ±1/√H for every weight and bias, like PyTorch, and seeded', () => {
    const a = new LSTM({ inputSize: 30, hiddenSize: 25, numLayers: 2, projSize: 10, seed: 4 });
    const b = new LSTM({ inputSize: 30, hiddenSize: 25, numLayers: 2, projSize: 10, seed: 4 });
    const c = new LSTM({ inputSize: 30, hiddenSize: 25, numLayers: 2, projSize: 10, seed: 5 });
    const bound = 1 / Math.sqrt(25);
    const all: number[] = [];
    for (const [name, p] of a.namedParameters()) {
      const v = Array.from(p.dataSync());
      all.push(...v);
      expect(Math.max(...v.map(Math.abs)), name).toBeLessThanOrEqual(bound);
      expect(maxAbsDiff(p, b.stateDict().get(name)!)).toBe(0);
      expect(maxAbsDiff(p, c.stateDict().get(name)!)).toBeGreaterThan(0);
    }
    const mean = all.reduce((s, v) => s + v, 0) / all.length;
    const variance = all.reduce((s, v) => s + v * v, 0) / all.length;
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(variance).toBeCloseTo((bound * bound) / 3, 3); // the variance of U(−b, b)
    expect(Math.max(...all)).toBeGreaterThan(0.99 * bound);
    for (const m of [a, b, c]) m.dispose();
  });

  it('orthogonal recurrent weights: each gate block of weight_hh has orthonormal rows/columns', () => {
    const gru = new GRU({ inputSize: 3, hiddenSize: 5, numLayers: 2, recurrentInit: 'orthogonal', seed: 1 });
    const lstm = new LSTM({ inputSize: 3, hiddenSize: 5, projSize: 3, recurrentInit: 'orthogonal', seed: 1 });
    const check = (w: Tensor, gates: number): void => {
      const m = w.arraySync() as number[][];
      const cols = m[0]!.length;
      for (let g = 0; g < gates; g++) {
        const block = m.slice(g * 5, (g + 1) * 5);
        // Columns orthonormal: blockᵀ·block = I (cols ≤ rows).
        for (let i = 0; i < cols; i++) {
          for (let j = 0; j < cols; j++) {
            const dot = block.reduce((s, row) => s + row[i]! * row[j]!, 0);
            expect(Math.abs(dot - (i === j ? 1 : 0))).toBeLessThan(1e-5);
          }
        }
      }
    };
    check(gru.stateDict().get('weight_hh_l0')!, 3);
    check(gru.stateDict().get('weight_hh_l1')!, 3);
    check(lstm.stateDict().get('weight_hh_l0')!, 4);
    const again = new GRU({
      inputSize: 3,
      hiddenSize: 5,
      numLayers: 2,
      recurrentInit: 'orthogonal',
      seed: 1,
    });
    expect(maxAbsDiff(again.stateDict().get('weight_hh_l1')!, gru.stateDict().get('weight_hh_l1')!)).toBe(0);
  });

  it('forget-gate bias: bias_ih holds it in the f block and bias_hh is zero there', () => {
    const lstm = new LSTM({ inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true, forgetBias: 1 });
    for (const [name, p] of lstm.namedParameters()) {
      const v = Array.from(p.dataSync());
      if (name.startsWith('bias_ih')) expect(v.slice(4, 8)).toEqual([1, 1, 1, 1]);
      if (name.startsWith('bias_hh')) expect(v.slice(4, 8)).toEqual([0, 0, 0, 0]);
      if (name.startsWith('bias'))
        expect(v.slice(0, 4).every((x) => Math.abs(x) <= 0.5 && x !== 0)).toBe(true);
    }
    const cell = new LSTMCell({ inputSize: 3, hiddenSize: 2, forgetBias: 2 });
    expect(Array.from(cell.stateDict().get('bias_ih')!.dataSync()).slice(2, 4)).toEqual([2, 2]);
  });
});

describe('dropout between layers', () => {
  it('is applied in training mode only, seeded, and not after the last layer', () => {
    tidy(() => {
      const rng = new Rng(2);
      const x = rand(rng, [4, 2, 3], 'f32');
      const opts = { inputSize: 3, hiddenSize: 8, numLayers: 2, seed: 3 } as const;
      const plain = new GRU(opts);
      const a = new GRU({ ...opts, dropout: 0.5 });
      const b = new GRU({ ...opts, dropout: 0.5 });
      const ref = plain.forward(x).output;
      const a1 = a.forward(x).output;
      const a2 = a.forward(x).output;
      expect(maxAbsDiff(a1, ref)).toBeGreaterThan(1e-3);
      expect(maxAbsDiff(a1, a2)).toBeGreaterThan(1e-3); // a fresh mask per call
      expect(maxAbsDiff(b.forward(x).output, a1)).toBe(0); // the same seed, the same masks
      expect(maxAbsDiff(a.eval().forward(x).output, ref)).toBe(0);
      expect(a.training).toBe(false);
      const single = new GRU({ ...opts, numLayers: 1, dropout: 0.5 });
      const singlePlain = new GRU({ ...opts, numLayers: 1 });
      expect(maxAbsDiff(single.forward(x).output, singlePlain.forward(x).output)).toBe(0);
    });
  });
});

describe('state dicts', () => {
  it('use PyTorch names and shapes, in PyTorch order', () => {
    const lstm = new LSTM({ inputSize: 5, hiddenSize: 4, numLayers: 2, bidirectional: true, projSize: 3 });
    expect(lstm.namedParameters().map(([n, p]) => `${n} ${p.shape.join('x')}`)).toEqual([
      'weight_ih_l0 16x5',
      'weight_hh_l0 16x3',
      'bias_ih_l0 16',
      'bias_hh_l0 16',
      'weight_hr_l0 3x4',
      'weight_ih_l0_reverse 16x5',
      'weight_hh_l0_reverse 16x3',
      'bias_ih_l0_reverse 16',
      'bias_hh_l0_reverse 16',
      'weight_hr_l0_reverse 3x4',
      'weight_ih_l1 16x6',
      'weight_hh_l1 16x3',
      'bias_ih_l1 16',
      'bias_hh_l1 16',
      'weight_hr_l1 3x4',
      'weight_ih_l1_reverse 16x6',
      'weight_hh_l1_reverse 16x3',
      'bias_ih_l1_reverse 16',
      'bias_hh_l1_reverse 16',
      'weight_hr_l1_reverse 3x4',
    ]);
    const gru = new GRU({ inputSize: 2, hiddenSize: 3, bias: false });
    expect([...gru.stateDict().keys()]).toEqual(['weight_ih_l0', 'weight_hh_l0']);
    expect(gru.stateDict().get('weight_hh_l0')!.shape).toEqual([9, 3]);
    expect([...new RNNCell({ inputSize: 2, hiddenSize: 3 }).stateDict().keys()]).toEqual([
      'weight_ih',
      'weight_hh',
      'bias_ih',
      'bias_hh',
    ]);
  });

  it('load into the same parameter objects, casting dtype, and loaded models compute the same', () => {
    tidy(() => {
      const src = new GRU({ inputSize: 3, hiddenSize: 2, numLayers: 2, seed: 1, dtype: 'f64' });
      const dst = new GRU({ inputSize: 3, hiddenSize: 2, numLayers: 2, seed: 2 });
      const before = dst.parameters();
      const res = dst.loadStateDict(src.stateDict());
      expect(res).toEqual({ missingKeys: [], unexpectedKeys: [] });
      expect(dst.parameters()).toEqual(before);
      expect(dst.parameters().every((p) => p.dtype === 'f32')).toBe(true);
      const x = rand(new Rng(1), [2, 1, 3]);
      expect(maxAbsDiff(dst.forward(x.cast('f32')).output, src.forward(x).output)).toBeLessThan(1e-6);
    });
  });

  it('strict loading names missing and unexpected keys; non-strict loads the rest and reports them', () => {
    const two = new LSTM({ inputSize: 3, hiddenSize: 2, numLayers: 2 });
    const one = new LSTM({ inputSize: 3, hiddenSize: 2, bidirectional: true, seed: 8 });
    const e = caught(() => two.loadStateDict(one.stateDict()));
    expect(e).toBeInstanceOf(StateDictError);
    expect(e.message).toMatch(/missing keys 'weight_ih_l1', 'weight_hh_l1', 'bias_ih_l1', 'bias_hh_l1'/);
    expect(e.message).toMatch(/unexpected keys 'weight_ih_l0_reverse'/);
    expect(e.message).toMatch(/numLayers, bidirectional/);
    expect((e as StateDictError).missingKeys).toHaveLength(4);
    const res = two.loadStateDict(one.stateDict(), { strict: false });
    expect(res.missingKeys).toEqual(['weight_ih_l1', 'weight_hh_l1', 'bias_ih_l1', 'bias_hh_l1']);
    expect(res.unexpectedKeys).toHaveLength(4);
    expect(maxAbsDiff(two.stateDict().get('weight_ih_l0')!, one.stateDict().get('weight_ih_l0')!)).toBe(0);
  });

  it('a shape mismatch says expected and found and how the shape follows from the options; nothing is loaded', () => {
    const small = new LSTM({ inputSize: 5, hiddenSize: 3 });
    const big = new LSTM({ inputSize: 5, hiddenSize: 4, seed: 1 });
    const before = Array.from(small.stateDict().get('weight_ih_l0')!.dataSync());
    const e = caught(() => small.loadStateDict(big.stateDict()));
    expect(e).toBeInstanceOf(StateDictError);
    expect(e.message).toBe(
      "LSTM.loadStateDict: expected 'weight_ih_l0' of shape [12, 5] (4·hiddenSize × inputSize, with hiddenSize = 3 and inputSize = 5), found [16, 5]. The checkpoint was saved from a model of other sizes: build this module with the same sizes (inputSize, hiddenSize, projSize, numEmbeddings...).",
    );
    expect(Array.from(small.stateDict().get('weight_ih_l0')!.dataSync())).toEqual(before);
    const proj = new LSTM({ inputSize: 5, hiddenSize: 4, projSize: 2, numLayers: 2 });
    const sd = new Map(proj.stateDict());
    sd.set('weight_hr_l1', zeros([3, 4]));
    expect(caught(() => proj.loadStateDict(sd)).message).toMatch(
      /'weight_hr_l1' of shape \[2, 4\] \(projSize × hiddenSize, with projSize = 2 and hiddenSize = 4\), found \[3, 4\]/,
    );
  });

  it('train() and eval() set the mode', () => {
    const rnn = new RNN({ inputSize: 1, hiddenSize: 1 });
    expect(rnn.training).toBe(true);
    expect(rnn.eval().training).toBe(false);
    expect(rnn.train().training).toBe(true);
  });
});

describe('clear errors for bad input', () => {
  const lstm = (): LSTM => new LSTM({ inputSize: 3, hiddenSize: 2, numLayers: 2 });
  const message = (fn: () => unknown): string => {
    const e = caught(fn);
    expect(e).toBeInstanceOf(CellsError);
    return e.message;
  };

  it('input rank, features, dtype', () => {
    expect(message(() => lstm().forward(zeros([3])))).toBe(
      'LSTM.forward: expected an input of rank 3 ([T, B, inputSize]) or 2 ([T, inputSize], unbatched), found shape [3].',
    );
    expect(message(() => lstm().forward(zeros([4, 2, 5])))).toMatch(
      /expected inputs with 3 features \(inputSize\) on the last axis, found shape \[4, 2, 5\]/,
    );
    expect(message(() => lstm().forward(zeros([4, 2, 3], { dtype: 'f64' })))).toMatch(
      /expected the input x of dtype f32 \(the parameters' dtype\), found f64\. Cast it with \.cast\('f32'\)/,
    );
    expect(message(() => lstm().forward([[1, 2, 3]] as unknown as Tensor))).toMatch(
      /expected the input x to be a Tensor, found an array/,
    );
    expect(
      message(() => new GRU({ inputSize: 3, hiddenSize: 2, batchFirst: true }).forward(zeros([2, 0, 3]))),
    ).toMatch(/at least one step/);
  });

  it('state shapes', () => {
    expect(message(() => lstm().forward(zeros([4, 2, 3]), { h0: zeros([1, 2, 2]) }))).toBe(
      'LSTM.forward: expected h0 of shape [2, 2, 2] ([numLayers·numDirections, B, hiddenSize]), found [1, 2, 2].',
    );
    expect(message(() => lstm().forward(zeros([4, 2, 3]), { c0: zeros([2, 3, 2]) }))).toMatch(
      /expected c0 of shape \[2, 2, 2\]/,
    );
    const proj = new LSTM({ inputSize: 3, hiddenSize: 4, projSize: 2 });
    expect(message(() => proj.forward(zeros([4, 2, 3]), { h0: zeros([1, 2, 4]) }))).toMatch(
      /expected h0 of shape \[1, 2, 2\] \(\[numLayers·numDirections, B, projSize\]\)/,
    );
    const gru = new GRU({ inputSize: 3, hiddenSize: 2 });
    expect(message(() => gru.forward(zeros([4, 3]), { h0: zeros([1, 1, 2]) }))).toMatch(
      /expected h0 of shape \[1, 2\] \(\[numLayers·numDirections, hiddenSize\] for an unbatched input\)/,
    );
    expect(message(() => gru.forward(zeros([4, 1, 3]), { c0: zeros([1, 1, 2]) } as never))).toMatch(
      /only an LSTM has a cell state/,
    );
    expect(
      message(() =>
        new LSTMCell({ inputSize: 3, hiddenSize: 2 }).forward(zeros([2, 3]), { h: zeros([2, 3]) }),
      ),
    ).toBe('LSTMCell.forward: expected h of shape [2, 2] ([B, hiddenSize]), found [2, 3].');
    expect(message(() => new RNNCell({ inputSize: 3, hiddenSize: 2 }).forward(zeros([2, 4])))).toMatch(
      /expected inputs with 3 features/,
    );
  });

  it('lengths and masks', () => {
    const x = zeros([4, 2, 3]);
    expect(message(() => lstm().forward(x, { lengths: [4] }))).toBe(
      'LSTM.forward: expected one length per sequence (2 for a batch of 2), found 1 lengths. Pass lengths in the order of the batch.',
    );
    expect(message(() => lstm().forward(x, { lengths: [4, 5] }))).toBe(
      'LSTM.forward: expected lengths that are integers from 1 to 4 (the padded length T), found 5 at index 1. Pad the input to the longest sequence.',
    );
    expect(message(() => lstm().forward(x, { lengths: [0, 2] }))).toMatch(
      /found 0 at index 0\. Drop empty sequences/,
    );
    expect(message(() => lstm().forward(x, { lengths: [1.5, 2] }))).toMatch(/found 1\.5 at index 0/);
    expect(message(() => lstm().forward(x, { lengths: [1, 2], mask: [[1], [1]] }))).toMatch(
      /lengths or a mask, found both/,
    );
    expect(
      message(() =>
        lstm().forward(x, {
          mask: [
            [1, 0, 1, 0],
            [1, 1, 1, 1],
          ],
        }),
      ),
    ).toMatch(/valid steps come first.*row 0 with padding at step 1 before a valid step 2/);
    expect(message(() => lstm().forward(x, { mask: [[1, 1, 1, 1]] }))).toMatch(/a mask of shape \[2, 4\]/);
  });

  it('options', () => {
    expect(message(() => new LSTM({ inputSize: 3, hiddenSize: 0 }))).toMatch(
      /LSTM: expected hiddenSize to be an integer >= 1, found 0/,
    );
    expect(message(() => new LSTM({ inputSize: 3, hiddenSize: 2, projSize: 2 }))).toMatch(
      /projSize to be 0 \(none\) or an integer from 1 to hiddenSize - 1 \(1\), found 2/,
    );
    expect(message(() => new GRU({ inputSize: 3, hiddenSize: 2, dropout: 1.5 }))).toMatch(
      /dropout to be a probability/,
    );
    expect(message(() => new RNN({ inputSize: 3, hiddenSize: 2, nonlinearity: 'sigmoid' as never }))).toMatch(
      /nonlinearity 'tanh' or 'relu', found "sigmoid"/,
    );
    expect(message(() => new LSTM({ inputSize: 3, hiddenSize: 2, bias: false, forgetBias: 1 }))).toMatch(
      /bias: true with forgetBias/,
    );
    expect(message(() => new GRU({ inputSize: 3, hiddenSize: 2, recurrentInit: 'xavier' as never }))).toMatch(
      /recurrentInit 'uniform' or 'orthogonal'/,
    );
    expect(message(() => new GRU({ inputSize: 3, hiddenSize: 2 }).cellWeights(1))).toMatch(
      /a layer in 0\.\.0/,
    );
  });
});

describe('memory', () => {
  it('training steps leave no tensors or buffers behind', () => {
    const backend = engine.backend;
    const lstm = new LSTM({ inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true, dropout: 0.2 });
    const step = (): void => {
      tidy(() => {
        const x = zeros([5, 2, 3]).add(0.5);
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
});
