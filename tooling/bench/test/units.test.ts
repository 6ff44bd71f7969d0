import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { reorderBlocks, swap01, transpose2d } from '../src/problem.js';
import { BenchCheckError, compareWithOurs } from '../src/run.js';
import { maxAbsDiff, summarize } from '../src/stats.js';
import { flopsOf, selectWorkloads, WORKLOADS } from '../src/workloads.js';

describe('workloads', () => {
  it('counts FLOPs with the formula of BENCHMARKS.md', () => {
    const w1 = WORKLOADS.find((w) => w.id === 'W1')!;
    expect(flopsOf(w1)).toBe(3 * 2 * 32 * 64 * (128 + 256) * 4 * 256);
    const w2 = WORKLOADS.find((w) => w.id === 'W2')!;
    expect(flopsOf(w2)).toBe(2 * 32 * 64 * (128 + 256) * 4 * 256);
    const w4 = WORKLOADS.find((w) => w.id === 'W4')!;
    expect(flopsOf(w4)).toBe(3 * 2 * 32 * 64 * (128 + 256) * 3 * 256);
  });

  it('selects by group (W3 gives both halves), overrides shapes and refuses unknown ids', () => {
    expect(selectWorkloads(['W3', 'W1']).map((w) => w.id)).toEqual(['W1', 'W3', 'W3-stream']);
    expect(selectWorkloads(['W6', 'W4']).map((w) => `${w.id} ${w.mode} ${w.resetAfter ?? ''}`)).toEqual([
      'W4 train false',
      'W4-reset-after train true',
      'W6 train ',
      'W6-forward forward ',
    ]);
    expect(selectWorkloads(['W2'], { T: 3 })[0]!.shape).toEqual({ B: 32, T: 3, D: 128, H: 256 });
    expect(selectWorkloads(['W8'])).toEqual([]);
    expect(() => selectWorkloads(['W9'])).toThrow(/expected workloads among .*found 'W9'/);
  });
});

describe('statistics', () => {
  it('median, min and max', () => {
    expect(summarize([3, 1, 2])).toEqual({ median: 2, min: 1, max: 3 });
    expect(summarize([4, 1, 2, 3])).toEqual({ median: 2.5, min: 1, max: 4 });
    expect(() => summarize([])).toThrow(/no samples/);
  });

  it('maxAbsDiff propagates NaN', () => {
    expect(maxAbsDiff([1, 2], [1, 2.5])).toEqual({ diff: 0.5, scale: 2.5 });
    expect(maxAbsDiff([Number.NaN, 2], [1, 2]).diff).toBeNaN();
  });
});

describe('layouts', () => {
  const arr = (n: number) => Float32Array.from({ length: n }, (_, i) => i);
  it('swap01 and transpose2d are their own inverses, and move the right element (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 4 }),
        (a, b, c) => {
          const x = arr(a * b * c);
          const y = swap01(x, a, b, c);
          expect(y[(b - 1) * a * c + (a - 1) * c]).toBe(x[(a - 1) * b * c + (b - 1) * c]);
          expect(swap01(y, b, a, c)).toEqual(x);
          const m = arr(a * b);
          expect(transpose2d(transpose2d(m, a, b), b, a)).toEqual(m);
          expect(transpose2d(m, a, b)[(b - 1) * a]).toBe(m[b - 1]);
        },
      ),
    );
  });

  it('reorderBlocks moves gate blocks', () => {
    expect(Array.from(reorderBlocks(arr(6), 3, 2, [1, 0, 2]))).toEqual([2, 3, 0, 1, 4, 5]);
    expect(() => reorderBlocks(arr(7), 3, 2, [0, 1, 2])).toThrow(/do not split/);
  });
});

describe('compareWithOurs', () => {
  const w2 = WORKLOADS.find((w) => w.id === 'W2')!;
  const w1 = WORKLOADS.find((w) => w.id === 'W1')!;
  const ours = {
    output: Float32Array.from([0.1, 0.2]),
    hN: Float32Array.from([0.2]),
    cN: Float32Array.from([1]),
  };

  it('accepts results within tolerance and reports the difference', () => {
    const c = compareWithOurs(w2, 'x (1 thread)', ours, {
      ...ours,
      output: Float32Array.from([0.10001, 0.2]),
    });
    expect(c.maxAbsDiff).toBeCloseTo(1e-5, 6);
  });

  it('stops the run on a different output, a missing state, a different loss or gradient', () => {
    expect(() => compareWithOurs(w2, 'x', ours, { ...ours, output: Float32Array.from([0.2, 0.2]) })).toThrow(
      BenchCheckError,
    );
    expect(() => compareWithOurs(w2, 'x', ours, { output: ours.output, hN: ours.hN })).toThrow(/no final c/);
    expect(() => compareWithOurs(w2, 'x', ours, { ...ours, hN: Float32Array.from([Number.NaN]) })).toThrow(
      /final h differs/,
    );
    const train = { hN: new Float32Array(0), loss: 2, gradWeightIh: Float32Array.from([1, -2]) };
    expect(compareWithOurs(w1, 'x', train, { ...train, loss: 2.0001 }).lossRelDiff).toBeLessThan(1e-3);
    expect(() => compareWithOurs(w1, 'x', train, { ...train, loss: 2.01 })).toThrow(/loss 2.01 against 2/);
    expect(() =>
      compareWithOurs(w1, 'x', train, { ...train, gradWeightIh: Float32Array.from([1, -1.9]) }),
    ).toThrow(/weight_ih differs/);
  });
});
