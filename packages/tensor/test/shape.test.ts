import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { broadcastShapes, broadcastStrides, normAxes, stridesOf } from '../src/shape.js';

describe('shapes', () => {
  it('broadcasts as NumPy does', () => {
    expect(broadcastShapes('op', [2, 1, 3], [4, 1])).toEqual([2, 4, 3]);
    expect(broadcastShapes('op', [], [5])).toEqual([5]);
    expect(() => broadcastShapes('add', [2, 3], [4])).toThrow(/add: .*\[2,3\] and \[4\]/);
  });

  it('broadcasting is commutative and idempotent', () => {
    const shape = fc.array(fc.integer({ min: 1, max: 4 }), { maxLength: 4 });
    fc.assert(
      fc.property(shape, fc.nat(15), (s, ones) => {
        const t = s.map((d, i) => ((ones >> i) & 1 ? 1 : d));
        expect(broadcastShapes('op', s, t)).toEqual(s);
        expect(broadcastShapes('op', t, s)).toEqual(s);
      }),
    );
  });

  it('computes row-major and broadcast strides', () => {
    expect(stridesOf([2, 3, 4])).toEqual([12, 4, 1]);
    expect(broadcastStrides([3, 1], [2, 3, 4])).toEqual([0, 1, 0]);
  });

  it('normalises axes and rejects duplicates', () => {
    expect(normAxes('sum', [-1, 0], 3)).toEqual([0, 2]);
    expect(() => normAxes('sum', [1, -2], 3)).toThrow(/distinct/);
    expect(() => normAxes('sum', 3, 3)).toThrow(/axis in \[-3, 2\]/);
  });
});
