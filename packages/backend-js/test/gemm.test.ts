import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Gemm } from '../src/gemm.js';

function naive(
  a: Float64Array,
  b: Float64Array,
  m: number,
  n: number,
  k: number,
  ta: boolean,
  tb: boolean,
): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++)
        s += (ta ? a[p * m + i]! : a[i * k + p]!) * (tb ? b[j * k + p]! : b[p * n + j]!);
      c[i * n + j] = s;
    }
  return c;
}

describe('blocked GEMM', () => {
  it('equals the triple loop for any sizes, transposes and blocking edges', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 13 }),
        fc.integer({ min: 1, max: 600 }),
        fc.integer({ min: 1, max: 300 }),
        fc.boolean(),
        fc.boolean(),
        (m, n, k, ta, tb) => {
          const a = Float64Array.from({ length: m * k }, (_, i) => Math.sin(i * 1.3));
          const b = Float64Array.from({ length: k * n }, (_, i) => Math.cos(i * 0.7));
          const c = new Float64Array(m * n);
          new Gemm().run({
            a,
            b,
            c,
            m,
            n,
            k,
            transA: ta,
            transB: tb,
            aOffset: 0,
            bOffset: 0,
            cOffset: 0,
            bias: null,
            biasOffset: 0,
            accumulate: false,
          });
          const ref = naive(a, b, m, n, k, ta, tb);
          for (let i = 0; i < ref.length; i++) expect(Math.abs(c[i]! - ref[i]!)).toBeLessThan(1e-9 * k);
        },
      ),
      { numRuns: 40, seed: 1 },
    );
  });

  it('adds the bias and accumulates into the output', () => {
    const a = Float64Array.from([1, 2, 3, 4]);
    const b = Float64Array.from([1, 0, 0, 1]);
    const c = Float64Array.from([10, 10, 10, 10]);
    const bias = Float64Array.from([0.5, -0.5]);
    new Gemm().run({
      a,
      b,
      c,
      m: 2,
      n: 2,
      k: 2,
      transA: false,
      transB: false,
      aOffset: 0,
      bOffset: 0,
      cOffset: 0,
      bias,
      biasOffset: 0,
      accumulate: true,
    });
    expect(Array.from(c)).toEqual([11.5, 11.5, 13.5, 13.5]);
  });
});
