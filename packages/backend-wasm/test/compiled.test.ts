import { JsBackend } from '@recur/backend-js';
import { compileScan, type ScanSpec, type StepFn } from '@recur/graph-compiler';
import * as R from '@recur/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WasmBackend } from '../src/index.js';

/** PyTorch-layout LSTM and GRU steps (gates i,f,g,o and r,z,n), written with plain tensor ops. */
const STEPS: Record<'lstm' | 'gru', StepFn> = {
  lstm: ({ h, c }, { x }, p) => {
    const gates = x!
      .matmul(p.wih!, { transB: true })
      .add(p.bih!)
      .add(h!.matmul(p.whh!, { transB: true }).add(p.bhh!));
    const [i, f, g, o] = gates.split(4, -1) as [R.Tensor, R.Tensor, R.Tensor, R.Tensor];
    const c2 = f.sigmoid().mul(c!).add(i.sigmoid().mul(g.tanh()));
    const h2 = o.sigmoid().mul(c2.tanh());
    return { carry: { h: h2, c: c2 }, y: { h: h2 } };
  },
  gru: ({ h }, { x }, p) => {
    const gi = x!.matmul(p.wih!, { transB: true }).add(p.bih!);
    const gh = h!.matmul(p.whh!, { transB: true }).add(p.bhh!);
    const [ir, iz, inn] = gi.split(3, -1) as [R.Tensor, R.Tensor, R.Tensor];
    const [hr, hz, hn] = gh.split(3, -1) as [R.Tensor, R.Tensor, R.Tensor];
    const r = ir.add(hr).sigmoid();
    const z = iz.add(hz).sigmoid();
    const n = inn.add(r.mul(hn)).tanh();
    return { carry: { h: R.sub(1, z).mul(n).add(z.mul(h!)) }, y: { h: R.sub(1, z).mul(n).add(z.mul(h!)) } };
  },
};

function spec(cell: 'lstm' | 'gru', b: number, d: number, h: number): ScanSpec {
  const g = (cell === 'lstm' ? 4 : 3) * h;
  const f32 = 'f32' as const;
  return {
    carry:
      cell === 'lstm'
        ? { h: { shape: [b, h], dtype: f32 }, c: { shape: [b, h], dtype: f32 } }
        : { h: { shape: [b, h], dtype: f32 } },
    xs: { x: { shape: [b, d], dtype: f32 } },
    params: {
      wih: { shape: [g, d], dtype: f32 },
      whh: { shape: [g, h], dtype: f32 },
      bih: { shape: [g], dtype: f32 },
      bhh: { shape: [g], dtype: f32 },
    },
  };
}

interface Run {
  ys: Float32Array;
  final: Float32Array[];
  grads: Float32Array[];
}

/** Forward and backward of a compiled scan on one backend, from seeded host data. */
function runOn(backend: R.Backend, cell: 'lstm' | 'gru', s: ScanSpec, T: number, seed: number): Run {
  return R.withBackend(backend, () =>
    R.tidy(() => {
      let k = seed;
      const rnd = (shape: readonly number[]) => R.randn(shape, { seed: k++ }).mul(0.5);
      const init = Object.fromEntries(Object.entries(s.carry).map(([n, v]) => [n, rnd(v.shape)]));
      const xs = { x: rnd([T, ...s.xs.x!.shape]) };
      const params = Object.fromEntries(Object.entries(s.params).map(([n, v]) => [n, rnd(v.shape)]));
      const c = compileScan(STEPS[cell], s, { steps: T, train: true });
      const out = c.forward(init, xs, params);
      const dfinal = Object.fromEntries(Object.keys(s.carry).map((n) => [n, rnd(s.carry[n]!.shape)]));
      const g = c.backward(dfinal, { h: rnd(out.ys.h!.shape) });
      const result: Run = {
        ys: out.ys.h!.dataSync() as Float32Array,
        final: Object.keys(s.carry).map((n) => out.final[n]!.dataSync() as Float32Array),
        grads: [
          ...Object.keys(s.carry).map((n) => g.init[n]!),
          g.xs.x!,
          ...Object.keys(s.params).map((n) => g.params[n]!),
        ].map((t) => t.dataSync() as Float32Array),
      };
      c.dispose();
      return result;
    }),
  );
}

function expectClose(found: Float32Array, expected: Float32Array, tol: number, what: string): void {
  expect(found.length, what).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    worst = Math.max(worst, Math.abs(found[i]! - expected[i]!) / (1 + Math.abs(expected[i]!)));
  }
  expect(worst, what).toBeLessThanOrEqual(tol);
}

const backends: { name: string; backend: WasmBackend }[] = [];
const js = new JsBackend();

beforeAll(async () => {
  backends.push({ name: '1 thread', backend: await WasmBackend.create({ threads: 1 }) });
  backends.push({ name: '2 threads', backend: await WasmBackend.create({ threads: 2 }) });
});
afterAll(() => {
  for (const b of backends) b.backend.dispose();
});

describe.each(['lstm', 'gru'] as const)('compiled %s on wasm equals the js backend', (cell) => {
  it.each([
    { B: 3, D: 5, H: 6, T: 7 },
    { B: 16, D: 40, H: 96, T: 5 },
  ])('forward and backward (%o)', ({ B, D, H, T }) => {
    const s = spec(cell, B, D, H);
    const ref = runOn(js, cell, s, T, 11);
    for (const { name, backend } of backends) {
      const before = backend.memory();
      const got = runOn(backend, cell, s, T, 11);
      expectClose(got.ys, ref.ys, 1e-5, `${name} ys`);
      got.final.forEach((f, i) => {
        expectClose(f, ref.final[i]!, 1e-5, `${name} final ${i}`);
      });
      got.grads.forEach((g, i) => {
        expectClose(g, ref.grads[i]!, 5e-5, `${name} gradient ${i}`);
      });
      expect(backend.memory(), `${name}: live buffers after the run`).toEqual(before);
    }
  });
});
