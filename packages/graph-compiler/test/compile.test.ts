import * as R from '@recur/tensor';
import * as fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  compileScan,
  Executable,
  GraphBuilder,
  interpret,
  lower,
  names,
  type Program,
  planMemory,
  traceStep,
  trainPrograms,
} from '../src/index.js';
import { type CellKind, cellEnv, cellSpec, cotangents, eagerScan, steps } from '../src/testkit/index.js';
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
    const cot = cotangents(spec, ref0.ys, 77);
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
    // LSTM and GRU save their gates over the input projection and write the gate gradients over
    // the saved gates, so the values above were computed with those buffers shared.
    if (cell !== 'rnn') expect(c.lowered.stepInPlace.length).toBeGreaterThanOrEqual(2);
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

describe('memory plan', () => {
  const W1 = (cell: CellKind) =>
    compileScan(steps[cell], cellSpec(cell, 32, 128, 256), { steps: 64, train: true });

  it('plans at most half the unplanned peak for an LSTM training step (W1: B=32 T=64 D=128 H=256)', () => {
    const c = W1('lstm');
    expect(c.stats.peakBytesPlanned).toBeLessThanOrEqual(0.5 * c.stats.peakBytesUnplanned);
    c.dispose();
  });

  it.each(['lstm', 'gru'] as const)(
    'gives the saved %s gates and their gradients the input projection memory',
    (cell) => {
      const c = W1(cell);
      const pairs = c.lowered.stepInPlace;
      expect(pairs.length).toBeGreaterThanOrEqual(2);
      // Each overwritable input is taken over by one of the outputs that may write over it.
      for (const x of new Set(pairs.map(([a]) => a)))
        expect(pairs.some(([a, y]) => a === x && c.plan.assign[y] === c.plan.assign[x])).toBe(true);
      // One physical buffer of [T, B, G·H] holds the projection, then the gates, then their gradients.
      const size = 64 * 32 * (cell === 'lstm' ? 4 : 3) * 256;
      const holder = c.plan.assign[pairs[0]![0]]!;
      expect(c.plan.physical[holder]!.size).toBe(size);
      const tenants = c.lowered.buffers.filter((b) => c.plan.assign[b.id] === holder && b.size === size);
      expect(tenants.length).toBeGreaterThanOrEqual(3);
      c.dispose();
    },
  );

  it.each([
    [false, 1],
    [true, 0],
  ])(
    'writes a stacked result over the stacked input it reads unless that input is read later (read later: %s)',
    (readLater, pairs) => {
      // a = exp(a0) for all steps; the loop stacks s_t = tanh(a_t) and carries h + s_t; the last
      // block reads s (and, when `readLater`, a again, so s must not be written over a).
      const B0 = new GraphBuilder();
      const block0 = B0.build([B0.op('exp', [B0.source('input', 'a0', [4, 2, 3], 'f64')], {})]);
      const B = new GraphBuilder();
      const s = B.op('tanh', [B.source('input', 'x:a', [2, 3], 'f64')], {});
      const body = B.build([B.op('add', [B.source('input', 'carry:h', [2, 3], 'f64'), s], {}), s]);
      const B2 = new GraphBuilder();
      const stacked = B2.source('input', 's', [4, 2, 3], 'f64');
      const last = readLater
        ? B2.op('mul', [B2.source('input', 'a', [4, 2, 3], 'f64'), stacked], {})
        : B2.op('neg', [stacked], {});
      const program: Program = {
        steps: 4,
        stages: [
          { kind: 'block', graph: block0, outputs: ['a'] },
          {
            kind: 'loop',
            body,
            reverse: false,
            carries: [{ name: 'h', init: 'h0', final: 'hT' }],
            outputs: [
              { kind: 'carry', name: 'h' },
              { kind: 'stack', name: 's' },
            ],
          },
          { kind: 'block', graph: B2.build([last]), outputs: ['out'] },
        ],
      };
      const externals = new Map([
        ['a0', { shape: [4, 2, 3], dtype: 'f64' as const }],
        ['h0', { shape: [2, 3], dtype: 'f64' as const }],
      ]);
      const lowered = lower(program, externals, new Set(['out', 'hT']));
      const plan = planMemory(lowered);
      expect(lowered.stepInPlace.length).toBe(pairs);
      for (const [x, y] of lowered.stepInPlace) expect(plan.assign[y]).toBe(plan.assign[x]);
      const env = new Map([
        ['a0', R.randn([4, 2, 3], { seed: 3, dtype: 'f64' })],
        ['h0', R.randn([2, 3], { seed: 4, dtype: 'f64' })],
      ]);
      const exe = new Executable(R.getBackend(), lowered, plan);
      exe.run(env);
      const ref = interpret(program, env);
      expectClose([exe.read('out'), exe.read('hT')], [ref.get('out')!, ref.get('hT')!], 1e-12);
      exe.dispose();
    },
  );
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
          const cot = cotangents(STEP_SPEC, ys, sp.seed + 3);
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

describe('compiling for a backend that reads asynchronously', () => {
  // The JS backend without synchronous reads, as a GPU backend looks to the compiler.
  const asyncOnly = (): R.Backend => {
    const js = R.getBackend();
    return Object.create(js, {
      name: { value: 'async-js' },
      readSync: { value: undefined },
      read: { value: async (b: R.BackendBuffer) => js.readSync!(b) },
      capabilities: { value: { ...js.capabilities, syncRead: false } },
    }) as R.Backend;
  };
  const on = (b: R.Backend, t: R.Tensor) =>
    R.withBackend(b, () => R.tensor(Array.from(t.dataSync()), { dtype: t.dtype }).reshape(t.shape));

  it('traces on a host backend and runs on the target (GRU, whose step captures a constant)', async () => {
    const spec = cellSpec('gru', 2, 3, 4, 'f32');
    const env = cellEnv(spec, 5, 9);
    const ref = eagerScan(steps.gru, spec, env, 5);
    const target = asyncOnly();
    const c = compileScan(steps.gru, spec, { steps: 5, backend: target, host: R.getBackend() });
    const init = Object.fromEntries(
      Object.keys(spec.carry).map((k) => [k, on(target, env.get(`init:${k}`)!)]),
    );
    const params = Object.fromEntries(Object.keys(spec.params).map((p) => [p, on(target, env.get(p)!)]));
    const ys = c.forward(init, { x: on(target, env.get('x')!) }, params).ys.h!;
    expect(ys.backend.name).toBe('async-js');
    const got = Array.from(await ys.data());
    const want = Array.from(ref.ys.h!.dataSync());
    for (const [i, v] of got.entries()) expect(v).toBeCloseTo(want[i]!, 5);
    c.dispose();
  });

  it('asks for a host when neither the target nor the active backend reads synchronously', () => {
    const target = asyncOnly();
    const spec = cellSpec('gru', 2, 3, 4, 'f32');
    expect(() => R.withBackend(target, () => compileScan(steps.gru, spec, { steps: 3 }))).toThrow(
      /reads asynchronously.*host: new JsBackend\(\)/,
    );
    expect(() => compileScan(steps.gru, spec, { steps: 3, backend: target, host: target })).toThrow(
      /expected a host backend that reads synchronously/,
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
