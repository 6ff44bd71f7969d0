import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  chronologicalSplit,
  fitStandardizer,
  noisySine,
  persistenceRmse,
  slidingWindows,
  standardize,
  unstandardize,
  windowBatch,
} from '../src/index.js';
import { caught, useJsBackend, values } from './helpers.js';

beforeAll(() => {
  useJsBackend();
});

describe('noisySine', () => {
  it('is a sine plus seeded Gaussian noise', () => {
    const clean = noisySine({ length: 100, period: 20, amplitude: 2, noise: 0 });
    expect(clean[5]).toBeCloseTo(2, 12); // a quarter period
    expect(clean[10]).toBeCloseTo(0, 12);
    const a = noisySine({ length: 5000, period: 20, amplitude: 2, noise: 0.3, seed: 1 });
    expect(noisySine({ length: 5000, period: 20, amplitude: 2, noise: 0.3, seed: 1 })).toEqual(a);
    expect(noisySine({ length: 5000, period: 20, amplitude: 2, noise: 0.3, seed: 2 })).not.toEqual(a);
    const full = noisySine({ length: 5000, period: 20, amplitude: 2, noise: 0 });
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < a.length; i++) {
      const d = a[i]! - full[i]!;
      s += d;
      s2 += d * d;
    }
    expect(Math.abs(s / a.length)).toBeLessThan(0.02);
    expect(Math.sqrt(s2 / a.length)).toBeGreaterThan(0.28);
    expect(Math.sqrt(s2 / a.length)).toBeLessThan(0.32);
  });

  it('checks its options', () => {
    expect(caught(() => noisySine({ length: 0 })).message).toMatch(/length to be a positive integer/);
    expect(caught(() => noisySine({ length: 5, period: 0 })).message).toMatch(/a positive period/);
    expect(caught(() => noisySine({ length: 5, noise: -1 })).message).toMatch(/noise level of at least 0/);
    expect(caught(() => noisySine({ length: 5, phase: Number.NaN })).message).toMatch(
      /a finite phase, found NaN/,
    );
  });
});

describe('slidingWindows', () => {
  it('makes every (window → next horizon points) example', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -100, max: 100, noNaN: true }), { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 5 }),
        (series, window, horizon, stride) => {
          fc.pre(series.length >= window + horizon);
          const w = slidingWindows(series, { window, horizon, stride });
          expect(w.count).toBe(Math.floor((series.length - window - horizon) / stride) + 1);
          for (let i = 0; i < w.count; i++) {
            const s = i * stride;
            expect(Array.from(w.inputs.subarray(i * window, (i + 1) * window))).toEqual(
              Array.from(Float32Array.from(series.slice(s, s + window))),
            );
            expect(Array.from(w.targets.subarray(i * horizon, (i + 1) * horizon))).toEqual(
              Array.from(Float32Array.from(series.slice(s + window, s + window + horizon))),
            );
          }
          // The last window ends within the series; one more would not.
          expect((w.count - 1) * stride + window + horizon).toBeLessThanOrEqual(series.length);
          expect(w.count * stride + window + horizon).toBeGreaterThan(series.length);
        },
      ),
    );
  });

  it('batches windows as tensors, batch-first or time-first', () => {
    const w = slidingWindows([0, 1, 2, 3, 4, 5, 6], { window: 3, horizon: 2 });
    const b = windowBatch(w, [2, 0]);
    expect(b.inputs.shape).toEqual([2, 3, 1]);
    expect(values(b.inputs)).toEqual([2, 3, 4, 0, 1, 2]);
    expect(b.targets.shape).toEqual([2, 2]);
    expect(values(b.targets)).toEqual([5, 6, 3, 4]);
    const t = windowBatch(w, [2, 0], { layout: 'time-first' });
    expect(t.inputs.shape).toEqual([3, 2, 1]);
    expect(values(t.inputs)).toEqual([2, 0, 3, 1, 4, 2]);
    expect(caught(() => windowBatch(w, [3])).message).toMatch(
      /window indices from 0 to 2, found 3 at position 0/,
    );
    expect(caught(() => windowBatch(w, [])).message).toMatch(/at least one index/);
  });

  it('scores the persistence baseline', () => {
    const w = slidingWindows([0, 1, 2, 3, 4], { window: 2, horizon: 2 });
    // Windows [0,1]→[2,3] and [1,2]→[3,4]: errors 1,2,1,2.
    expect(persistenceRmse(w)).toBeCloseTo(Math.sqrt(2.5), 12);
  });

  it('rejects short series and bad values', () => {
    expect(caught(() => slidingWindows([1, 2, 3], { window: 3 })).message).toMatch(
      /a series of at least window \+ horizon = 4 points, found 3/,
    );
    expect(caught(() => slidingWindows([1, Number.NaN, 3], { window: 1 })).message).toMatch(
      /finite numbers in the series, found NaN at index 1/,
    );
    expect(caught(() => slidingWindows([1, 2, 3], { window: 1, stride: 0 })).message).toMatch(
      /stride to be a positive integer/,
    );
  });
});

describe('chronological split and scaling', () => {
  it('splits in time order', () => {
    const s = chronologicalSplit(
      Array.from({ length: 10 }, (_, i) => i),
      { valid: 0.2, test: 0.3 },
    );
    expect(Array.from(s.train)).toEqual([0, 1, 2, 3, 4]);
    expect(Array.from(s.valid)).toEqual([5, 6]);
    expect(Array.from(s.test)).toEqual([7, 8, 9]);
    expect(caught(() => chronologicalSplit([1, 2], { valid: 0.6, test: 0.5 })).message).toMatch(
      /valid \+ test < 1/,
    );
  });

  it('standardises with training statistics and undoes it', () => {
    const st = fitStandardizer([1, 2, 3, 4]);
    expect(st.mean).toBe(2.5);
    expect(st.std).toBeCloseTo(Math.sqrt(1.25), 12);
    const z = standardize([1, 4], st);
    expect(Array.from(unstandardize(z, st))).toEqual([1, 4].map((x) => expect.closeTo(x, 12)));
    expect(fitStandardizer([3, 3]).std).toBe(1);
    expect(caught(() => fitStandardizer([])).message).toMatch(/a non-empty series/);
  });
});
