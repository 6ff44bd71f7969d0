import { JsBackend } from '@recur/backend-js';
import { compileScan, type ScanSpec } from '@recur/graph-compiler';
import { cellSpec, steps } from '@recur/graph-compiler/testkit';
import * as R from '@recur/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WasmBackend } from '../src/index.js';

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
      const c = compileScan(steps[cell], s, { steps: T, train: true });
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
    const s = cellSpec(cell, B, D, H);
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
