import { GRU, LSTM } from '@recur/cells';
import { engine, randn, slice, type Tensor, tensor } from '@recur/tensor';
import { describe, expect, it } from 'vitest';
import {
  type ChunkSpan,
  detachState,
  type LayerState,
  layerChunkForward,
  TrainError,
  truncatedBptt,
} from '../src/index.js';
import { expectClose, values } from './setup.js';

const T = 8;
const B = 2;
const D = 3;
const H = 4;

function setup(seed = 1) {
  const gru = new GRU({ inputSize: D, hiddenSize: H, dtype: 'f64', seed });
  const x = randn([T, B, D], { seed: seed + 1, dtype: 'f64', requiresGrad: true });
  const cot = randn([T, B, H], { seed: seed + 2, dtype: 'f64' });
  return { gru, x, cot };
}

const timeSlice = (t: Tensor, a: number, b: number): Tensor =>
  slice(t, [a, 0, 0], [b, t.shape[1]!, t.shape[2]!]);

function grads(ts: Tensor[]): number[][] {
  return ts.map((t) => (t.grad ? values(t.grad) : []));
}

function zero(ts: Tensor[]): void {
  for (const t of ts) t.zeroGrad();
}

describe('truncatedBptt', () => {
  it('with k1 = k2 = T equals full BPTT (same loss, same gradients)', () => {
    const { gru, x, cot } = setup();
    const leaves = [x, ...gru.parameters()];
    const full = engine.tidy(() => {
      const { output } = gru.forward(x);
      const l = output.mul(cot).sum();
      l.backward();
      return l.item();
    });
    const expected = grads(leaves);
    zero(leaves);
    const r = truncatedBptt<LayerState>({
      inputs: x,
      forward: layerChunkForward(gru),
      loss: (out, span) => out.mul(timeSlice(cot, span.start, span.end)).sum(),
      k1: T,
    });
    expect(r.losses).toEqual([full]);
    grads(leaves).forEach((g, i) => {
      expectClose(g, expected[i]!, 1e-15, 1e-13);
    });
    (r.state as Tensor).dispose();
  });

  it('with shorter chunks carries the state (forward values equal) but cuts gradients at each chunk', () => {
    const { gru, x, cot } = setup(3);
    const leaves = [x, ...gru.parameters()];
    const fullOut = engine.tidy(() => {
      const { output, hN } = gru.forward(x);
      return { out: values(output), hN: values(hN) };
    });
    const seen: number[][] = [];
    // Only the second chunk (steps 3..5) has a loss.
    const onlySecond = (out: Tensor, span: ChunkSpan): Tensor => {
      seen.push(values(out));
      return out
        .mul(timeSlice(cot, span.start, span.end))
        .mul(span.index === 1 ? 1 : 0)
        .sum();
    };
    const r = truncatedBptt<LayerState>({
      inputs: x,
      forward: layerChunkForward(gru),
      loss: onlySecond,
      k1: 3,
    });
    expect(r.losses).toHaveLength(3);
    expectClose(seen.flat(), fullOut.out, 1e-15, 1e-13);
    expectClose(values(r.state as Tensor), fullOut.hN, 1e-15, 1e-13);
    const gx = values(x.grad!);
    const perStep = B * D;
    const stepNorm = (g: number[], t: number): number =>
      Math.hypot(...g.slice(t * perStep, (t + 1) * perStep));
    for (let t = 0; t < 3; t++) expect(stepNorm(gx, t)).toBe(0); // before the cut: nothing flows back
    for (let t = 3; t < 6; t++) expect(stepNorm(gx, t)).toBeGreaterThan(1e-6);
    for (let t = 6; t < T; t++) expect(stepNorm(gx, t)).toBe(0); // after the loss: no dependence
    // Full BPTT of the same loss does reach the earlier steps.
    zero(leaves);
    engine.tidy(() => {
      const { output } = gru.forward(x);
      timeSlice(output, 3, 6)
        .mul(timeSlice(cot, 3, 6))
        .sum()
        .backward();
    });
    const full = values(x.grad!);
    for (let t = 0; t < 3; t++) expect(stepNorm(full, t)).toBeGreaterThan(1e-8);
    (r.state as Tensor).dispose();
  });

  it('with k2 > k1 backpropagates each chunk k2 steps (equals BPTT from a state detached k2 steps back)', () => {
    const { gru, x, cot } = setup(5);
    const leaves = [x, ...gru.parameters()];
    const k1 = 2;
    const k2 = 5;
    // Reference: for each chunk [s, e), run from the full sequence's (detached) state at e - k2.
    const states: Tensor[] = [];
    engine.tidy(() => {
      let h: Tensor | undefined;
      for (let t = 0; t < T; t++) {
        const r = gru.forward(timeSlice(x, t, t + 1), h ? { h0: h } : {});
        h = r.hN;
        states.push(engine.keep(detachState(h)));
      }
    });
    for (let s = 0; s < T; s += k1) {
      const e = Math.min(T, s + k1);
      const from = Math.max(0, e - k2);
      engine.tidy(() => {
        const { output } = gru.forward(timeSlice(x, from, e), from > 0 ? { h0: states[from - 1]! } : {});
        timeSlice(output, s - from, e - from)
          .mul(timeSlice(cot, s, e))
          .sum()
          .backward();
      });
    }
    const expected = grads(leaves);
    zero(leaves);
    const r = truncatedBptt<LayerState>({
      inputs: x,
      forward: layerChunkForward(gru),
      loss: (out, span) => out.mul(timeSlice(cot, span.start, span.end)).sum(),
      k1,
      k2,
    });
    expect(r.losses).toHaveLength(4);
    grads(leaves).forEach((g, i) => {
      expectClose(g, expected[i]!, 1e-14, 1e-12);
    });
    expectClose(values(r.state as Tensor), values(states[T - 1]!), 1e-15, 1e-13);
    for (const s of states) s.dispose();
    (r.state as Tensor).dispose();
  });

  it('carries an LSTM state { h, c } batch-first, steps an optimizer between chunks, and leaks nothing', () => {
    const lstm = new LSTM({ inputSize: D, hiddenSize: H, batchFirst: true, seed: 2 });
    const x = randn([B, 10, D], { seed: 3 });
    const params = lstm.parameters();
    const chunks: ChunkSpan[] = [];
    const run = (): LayerState | undefined =>
      truncatedBptt<LayerState>({
        inputs: x,
        timeAxis: 1,
        forward: layerChunkForward(lstm),
        loss: (out) => out.square().mean(),
        k1: 4,
        afterBackward: (span) => {
          chunks.push(span);
          engine.noGrad(() =>
            engine.tidy(() => {
              for (const p of params) p.assign(p.sub(p.grad!.mul(0.1)));
            }),
          );
          for (const p of params) p.zeroGrad();
        },
      }).state;
    const first = run() as { h: Tensor; c: Tensor };
    expect(chunks.map((c) => [c.start, c.end])).toEqual([
      [0, 4],
      [4, 8],
      [8, 10],
    ]);
    expect(first.h.shape).toEqual([1, B, H]);
    first.h.dispose();
    first.c.dispose();
    const live = engine.liveTensors;
    const again = run() as { h: Tensor; c: Tensor };
    again.h.dispose();
    again.c.dispose();
    expect(engine.liveTensors).toBe(live);
  });

  it('refuses bad options with clear errors', () => {
    const { gru, x } = setup();
    const forward = layerChunkForward(gru);
    const loss = (out: Tensor): Tensor => out.sum();
    expect(() => truncatedBptt({ inputs: x, forward, loss, k1: 4, k2: 2 })).toThrow(/k2 ≥ k1/);
    expect(() => truncatedBptt({ inputs: x, forward, loss, k1: 0 })).toThrow(TrainError);
    expect(() =>
      truncatedBptt<Tensor>({
        inputs: x,
        forward: (c) => ({ output: c.sum(0, true), state: c }),
        loss,
        k1: 2,
      }),
    ).toThrow(/output to have 2 steps on the time axis 0/);
    expect(() => truncatedBptt({ inputs: x, forward, loss: () => tensor([1, 2]), k1: 2 })).toThrow(
      /scalar Tensor/,
    );
  });
});
