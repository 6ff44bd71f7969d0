import * as R from '@recur/tensor';
import * as fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileScan, interpret, names, traceStep, trainPrograms } from '../src/index.js';
import { type CellKind, cellEnv, cellSpec, cotangents, eagerScan, steps } from './cells.js';
import { expectClose, STEP_SPEC, stepArb, stepFromProgram, useJs } from './helpers.js';

beforeAll(() => useJs());

const CELLS: CellKind[] = ['rnn', 'lstm', 'gru'];
const TOL = { f32: 1e-5, f64: 1e-10 } as const;

describe.each(CELLS)('compiled %s', (cell) => {
  it.each(['f32', 'f64'] as const)('equals eager execution, forward and gradients (%s)', (dtype) => {
    const T = 7;
    const spec = cellSpec(cell, 3, 5, 4, dtype);
    const env = cellEnv(spec, T, 5);
    const ref0 = eagerScan(steps[cell], spec, env, T);
    const cot = cotangents(spec, T, ref0.ys, 77);
    const ref = eagerScan(steps[cell], spec, env, T, cot);

    const c = compileScan(steps[cell], spec, { steps: T, train: true });
    const init = Object.fromEntries(Object.keys(spec.carry).map((k) => [k, env.get(`init:${k}`)!]));
    const params = Object.fromEntries(Object.keys(spec.params).map((p) => [p, env.get(p)!]));
    const out = c.forward(init, { x: env.get('x')! }, params);
    expectClose([out.ys.h!], [ref.ys.h!], TOL[dtype]);
    for (const k of Object.keys(spec.carry)) expectClose([out.final[k]!], [ref.final[k]!], TOL[dtype]);

    const dfinal = Object.fromEntries(Object.keys(spec.carry).map((k) => [k, cot.get(`dfinal:${k}`)!]));
    const g = c.backward(dfinal, { h: cot.get('dys:h')! });
    for (const k of Object.keys(spec.carry))
      expectClose([g.init[k]!], [ref.grads.get(`dinit:${k}`)!], TOL[dtype]);
    expectClose([g.xs.x!], [ref.grads.get('dxs:x')!], TOL[dtype]);
    for (const p of Object.keys(spec.params))
      expectClose([g.params[p]!], [ref.grads.get(`dparam:${p}`)!], TOL[dtype]);
    c.dispose();
  });

  it('runs each forward step as one GEMM and one fused kernel, with the input projection hoisted', () => {
    const c = compileScan(steps[cell], cellSpec(cell, 4, 6, 5), { steps: 9 });
    expect(c.stats.kernelsPerStep.forward).toBeLessThanOrEqual(2);
    expect(c.stats.hoistedGemms).toBeGreaterThanOrEqual(1);
    const loop = c.lowered.stages.find((s) => s.kind === 'loop');
    expect(loop?.kind === 'loop' && loop.kernels.map((k) => k.kind)).toEqual(['gemm', 'fused']);
    c.dispose();
  });

  it('replays the same plan on new inputs', () => {
    const spec = cellSpec(cell, 2, 3, 4, 'f64');
    const c = compileScan(steps[cell], spec, { steps: 4 });
    for (const seed of [1, 2]) {
      const env = cellEnv(spec, 4, seed);
      const ref = eagerScan(steps[cell], spec, env, 4);
      const init = Object.fromEntries(Object.keys(spec.carry).map((k) => [k, env.get(`init:${k}`)!]));
      const params = Object.fromEntries(Object.keys(spec.params).map((p) => [p, env.get(p)!]));
      expectClose([c.forward(init, { x: env.get('x')! }, params).ys.h!], [ref.ys.h!], 1e-10);
    }
    c.dispose();
  });
});

describe('compile time and size are flat in T', () => {
  it('compiles 10 000 steps to the same graph as 10', () => {
    const spec = cellSpec('lstm', 32, 128, 256);
    const short = compileScan(steps.lstm, spec, { steps: 10, train: true });
    const long = compileScan(steps.lstm, spec, { steps: 10_000, train: true });
    expect(long.stats.nodesAfter).toBe(short.stats.nodesAfter);
    expect(long.stats.kernelsPerStep).toEqual(short.stats.kernelsPerStep);
    short.dispose();
    long.dispose();
    void R;
  });
});

describe('the whole pipeline (passes, fusion, lowering, memory plan, execution)', () => {
  it('equals the reference interpreter on random recurrent steps, forward and backward (property)', () => {
    fc.assert(
      fc.property(stepArb, (sp) => {
        R.tidy(() => {
          const step = stepFromProgram(sp);
          const env = cellEnv(STEP_SPEC, sp.steps, sp.seed);
          const s = traceStep(step, STEP_SPEC);
          const { forward, backward } = trainPrograms(s, sp.steps);
          const ref1 = interpret(forward, env);
          const ys = Object.fromEntries(s.ys.map((n) => [n, ref1.get(names.ys(n))!]));
          const cot = cotangents(STEP_SPEC, sp.steps, ys, sp.seed + 3);
          const ref2 = interpret(backward, new Map([...ref1, ...cot]));

          const c = compileScan(step, STEP_SPEC, { steps: sp.steps, train: true });
          const params = { w: env.get('w')!, b: env.get('b')! };
          const out = c.forward({ h: env.get('init:h')! }, { x: env.get('x')! }, params);
          expectClose([out.final.h!], [ref1.get('final:h')!], 1e-10);
          for (const n of s.ys) expectClose([out.ys[n]!], [ref1.get(names.ys(n))!], 1e-10);
          const dys = Object.fromEntries(s.ys.map((n) => [n, cot.get(names.dys(n))!]));
          const g = c.backward({ h: cot.get('dfinal:h')! }, dys);
          expectClose(
            [g.init.h!, g.xs.x!, g.params.w!, g.params.b!],
            ['dinit:h', 'dxs:x', 'dparam:w', 'dparam:b'].map((k) => ref2.get(k)!),
            1e-9,
          );
          c.dispose();
        });
      }),
      { numRuns: 40, seed: 13 },
    );
  });
});

describe('bad input to a compiled scan', () => {
  const spec = cellSpec('rnn', 2, 3, 4);
  const env = () => cellEnv(spec, 5, 1);
  const params = (e: Map<string, R.Tensor>) =>
    Object.fromEntries(['wih', 'whh', 'bih', 'bhh'].map((p) => [p, e.get(p)!]));

  it('rejects inputs stacked in the wrong layout, even with the right number of elements', () => {
    const c = compileScan(steps.rnn, spec, { steps: 5 });
    const e = env();
    const batchFirst = e.get('x')!.transpose([1, 0, 2]);
    expect(() => c.forward({ h: e.get('init:h')! }, { x: batchFirst }, params(e))).toThrow(
      /expected 'x' as f32\[5,2,3\], found f32\[2,5,3\]\. Per-step inputs are stacked time first/,
    );
    c.dispose();
  });

  it('names missing and unknown inputs', () => {
    const c = compileScan(steps.rnn, spec, { steps: 5 });
    const e = env();
    const { bhh: _, ...without } = params(e);
    expect(() =>
      c.forward({ h: e.get('init:h')! }, { x: e.get('x')! }, { ...without, b: e.get('bhh')! }),
    ).toThrow(/forward: params: expected exactly \[wih, whh, bih, bhh\].*missing bhh; unknown b/);
    c.dispose();
  });

  it('refuses backward on a forward-only compilation', () => {
    const c = compileScan(steps.rnn, spec, { steps: 5 });
    expect(() => c.backward({ h: R.zeros([2, 4]) }, { h: R.zeros([5, 2, 4]) })).toThrow(
      /Compile with \{ train: true \}/,
    );
    c.dispose();
  });
});
