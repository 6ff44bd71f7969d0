import * as R from '@recur/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  countOps,
  execute,
  forwardProgram,
  gradGraph,
  interpret,
  names,
  traceStep,
  trainPrograms,
  unroll,
  verify,
} from '../src/index.js';
import { type CellKind, cellEnv, cellSpec, cotangents, eagerScan, steps } from '../src/testkit/index.js';
import { expectClose, useJs } from './helpers.js';

beforeAll(() => useJs());

const CELLS: CellKind[] = ['rnn', 'lstm', 'gru'];

describe.each(CELLS)('scan over a %s step', (cell) => {
  const T = 5;
  const spec = cellSpec(cell, 2, 3, 4, 'f64');
  const step = steps[cell];

  it('runs the forward program to the eager loop values', () => {
    const s = traceStep(step, spec);
    verify(s.graph);
    const env = cellEnv(spec, T, 11);
    const out = interpret(forwardProgram(s, T), env);
    const ref = eagerScan(step, spec, env, T);
    expectClose([out.get(names.ys('h'))!], [ref.ys.h!], 1e-12);
    expectClose(
      s.carries.map((k) => out.get(names.final(k))!),
      s.carries.map((k) => ref.final[k]!),
      1e-12,
    );
  });

  it('differentiates through the scan to the eager tape gradients', () => {
    const s = traceStep(step, spec);
    const { forward, backward } = trainPrograms(s, T);
    for (const p of [forward, backward])
      for (const st of p.stages) verify(st.kind === 'loop' ? st.body : st.graph);
    const env = cellEnv(spec, T, 21);
    const ref0 = eagerScan(step, spec, env, T);
    const cot = cotangents(spec, ref0.ys, 99);
    const ref = eagerScan(step, spec, env, T, cot);
    const afterFwd = interpret(forward, env);
    expectClose([afterFwd.get(names.ys('h'))!], [ref.ys.h!], 1e-12);
    const after = interpret(backward, new Map([...afterFwd, ...cot]));
    const keys = [...ref.grads.keys()];
    expect(keys.length).toBe(s.carries.length + 1 + 4);
    expectClose(
      keys.map((k) => after.get(k)!),
      keys.map((k) => ref.grads.get(k)!),
      1e-10,
    );
  });
});

describe('unroll', () => {
  it('gives a flat graph equal to the eager loop, growing with T', () => {
    const spec = cellSpec('lstm', 2, 3, 4, 'f64');
    const s = traceStep(steps.lstm, spec);
    const g = unroll(s, 4);
    verify(g);
    const env = cellEnv(spec, 4, 3);
    const ref = eagerScan(steps.lstm, spec, env, 4);
    const feeds = Object.fromEntries(env);
    const [h, c, ys] = execute(g, feeds, feeds);
    expectClose([h!, c!, ys!], [ref.final.h!, ref.final.c!, ref.ys.h!], 1e-12);
    expect(countOps(g).matmul).toBe(8);
    expect(countOps(unroll(s, 8)).matmul).toBe(16);
  });
});

describe('traceStep', () => {
  it('rejects a step that changes the shape of its carry', () => {
    expect(() =>
      traceStep(({ h }) => ({ carry: { h: R.concat([h!, h!], 1) } }), {
        carry: { h: { shape: [2, 3] } },
        xs: {},
        params: {},
      }),
    ).toThrow(/carry 'h' enters the step as f32\[2,3\] but leaves it as f32\[2,6\]/);
  });
  it('gradGraph names the sources it knows when asked for an unknown one', () => {
    const s = traceStep(steps.rnn, cellSpec('rnn', 1, 2, 2));
    expect(() => gradGraph(s.graph, ['weights'])).toThrow(
      /expected 'wrt' to name inputs or params of the graph, found 'weights'\. Known: .*wih/,
    );
  });
  it('rejects zero steps', () => {
    const s = traceStep(steps.rnn, cellSpec('rnn', 1, 2, 2));
    expect(() => forwardProgram(s, 0)).toThrow(/whole number of steps ≥ 1, found 0/);
  });
});
