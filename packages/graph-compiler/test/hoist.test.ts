import type * as R from '@recur/tensor';
import * as fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  countOps,
  forwardProgram,
  hoist,
  interpret,
  type Program,
  traceStep,
  trainPrograms,
  verify,
} from '../src/index.js';
import { cellEnv, cellSpec, cotangents, steps } from '../src/testkit/index.js';
import { expectClose, STEP_SPEC, stepArb, stepFromProgram, useJs } from './helpers.js';

beforeAll(() => useJs());

function verifyProgram(p: Program): void {
  for (const s of p.stages) verify(s.kind === 'loop' ? s.body : s.graph);
}

function compareEnvs(
  a: Map<string, R.Tensor>,
  b: Map<string, R.Tensor>,
  keys: readonly string[],
  tol: number,
) {
  expectClose(
    keys.map((k) => a.get(k)!),
    keys.map((k) => b.get(k)!),
    tol,
  );
}

describe('hoist', () => {
  it('keeps the values of random forward and training programs (property)', () => {
    fc.assert(
      fc.property(stepArb, (sp) => {
        const s = traceStep(stepFromProgram(sp), STEP_SPEC);
        const env = cellEnv(STEP_SPEC, sp.steps, sp.seed);
        const fwd = forwardProgram(s, sp.steps);
        const hf = hoist(fwd);
        verifyProgram(hf);
        const outs = ['final:h', ...s.ys.map((n) => `ys:${n}`)];
        compareEnvs(interpret(hf, env), interpret(fwd, env), outs, 1e-10);

        const { forward, backward } = trainPrograms(s, sp.steps);
        const [hfw, hbw] = [hoist(forward, 'f'), hoist(backward, 'b')];
        verifyProgram(hfw);
        verifyProgram(hbw);
        const e1 = interpret(forward, env);
        const h1 = interpret(hfw, env);
        const ys = Object.fromEntries(s.ys.map((n) => [n, e1.get(`ys:${n}`)!]));
        const cot = cotangents(STEP_SPEC, ys, sp.seed + 7);
        const grads = ['dinit:h', 'dxs:x', 'dparam:w', 'dparam:b'];
        compareEnvs(
          interpret(hbw, new Map([...h1, ...cot])),
          interpret(backward, new Map([...e1, ...cot])),
          grads,
          1e-10,
        );
      }),
      { numRuns: 60, seed: 7 },
    );
  });

  it('leaves one GEMM per LSTM step and hoists the input projection and the weight gradients', () => {
    const s = traceStep(steps.lstm, cellSpec('lstm', 2, 3, 4, 'f64'));
    const fwd = hoist(forwardProgram(s, 6));
    const [pre, loop] = fwd.stages;
    expect(pre?.kind).toBe('block');
    expect(loop?.kind).toBe('loop');
    if (loop?.kind !== 'loop' || pre?.kind !== 'block') return;
    expect(countOps(loop.body).matmul).toBe(1);
    expect(countOps(pre.graph).matmul).toBe(1);
    expect(pre.graph.nodes.find((n) => n.kind === 'op' && n.op === 'matmul')?.shape).toEqual([12, 16]);

    const { backward } = trainPrograms(s, 6);
    const hb = hoist(backward, 'b');
    const bloop = hb.stages.find((st) => st.kind === 'loop');
    const post = hb.stages.at(-1);
    if (bloop?.kind !== 'loop' || post?.kind !== 'block') throw new Error('expected a loop then a block');
    expect(countOps(bloop.body).matmul).toBe(1); // δ·W_hh for the carry
    // dx, dW_ih, dW_hh: three GEMMs over all steps at once.
    const gemms = post.graph.nodes.filter((n) => n.kind === 'op' && n.op === 'matmul');
    expect(gemms.map((n) => n.shape)).toEqual(
      expect.arrayContaining([
        [12, 3],
        [16, 3],
        [16, 4],
      ]),
    );
  });
});
