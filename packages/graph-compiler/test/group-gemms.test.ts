import * as R from '@recur/tensor';
import * as fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { countOps, execute, groupGemms, trace, verify } from '../src/index.js';
import { expectClose, useJs } from './helpers.js';

beforeAll(() => useJs());

const gemmsArb = fc.record({
  widths: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 5 }),
  transB: fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }),
  left: fc.array(fc.nat(1), { minLength: 5, maxLength: 5 }),
  seed: fc.nat(1000),
});

describe('groupGemms', () => {
  it('keeps values and verifies on random sets of matmuls sharing operands (property)', () => {
    fc.assert(
      fc.property(gemmsArb, ({ widths, transB, left, seed }) => {
        const inputs = {
          x: R.randn([2, 3], { seed, dtype: 'f64' }),
          z: R.randn([2, 3], { seed: seed + 1, dtype: 'f64' }),
        };
        const params: Record<string, R.Tensor> = {};
        widths.forEach((w, i) => {
          params[`w${i}`] = R.randn(transB[i] ? [w, 3] : [3, w], { seed: seed + 2 + i, dtype: 'f64' });
        });
        const { graph } = trace(
          (ins, ps) =>
            widths.map((_, i) =>
              (left[i] ? ins.z! : ins.x!).matmul(ps[`w${i}`]!, { transB: transB[i]! }).tanh(),
            ),
          inputs,
          params,
        );
        const grouped = groupGemms(graph);
        verify(grouped);
        expectClose(execute(grouped, inputs, params), execute(graph, inputs, params), 1e-12);
        expect(countOps(grouped).matmul ?? 0).toBeLessThanOrEqual(countOps(graph).matmul ?? 0);
      }),
      { numRuns: 80, seed: 3 },
    );
  });

  it('turns the four gate matmuls of a per-gate LSTM into one', () => {
    const p = Object.fromEntries(['i', 'f', 'g', 'o'].map((k, j) => [k, R.randn([3, 4], { seed: j })]));
    const { graph } = trace(
      ({ x }) => ['i', 'f', 'g', 'o'].map((k) => x!.matmul(p[k]!)),
      { x: R.randn([2, 3], { seed: 9 }) },
      p,
    );
    const grouped = groupGemms(graph);
    expect(countOps(grouped)).toMatchObject({ matmul: 1, concat: 1, slice: 4 });
  });
});
