import { Rng } from '@recur/tensor';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { batchIndices, bucketByLength, permutation, shuffle } from '../src/index.js';
import { caught } from './helpers.js';

const sorted = (xs: number[]): number[] => [...xs].sort((a, b) => a - b);
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe('seeded shuffling', () => {
  it('gives a permutation, the same for the same seed', () => {
    fc.assert(
      fc.property(fc.nat({ max: 200 }), fc.integer(), (n, seed) => {
        const p = permutation(n, seed);
        expect(sorted(p)).toEqual(range(n));
        expect(permutation(n, seed)).toEqual(p);
      }),
    );
    expect(permutation(50, 1)).not.toEqual(permutation(50, 2));
  });

  it('shuffles a copy and draws from a generator passed in', () => {
    const items = ['a', 'b', 'c', 'd', 'e', 'f'];
    const s = shuffle(items, 3);
    expect(items).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    expect([...s].sort()).toEqual(items);
    const rng = new Rng(9);
    const first = shuffle(range(20), rng);
    const second = shuffle(range(20), rng);
    expect(second).not.toEqual(first); // the generator advanced
    expect(caught(() => shuffle(items, Number.NaN)).message).toMatch(
      /a seed that is a finite number or an Rng/,
    );
  });

  it('cuts indices into batches, optionally shuffled and without the short last batch', () => {
    expect(batchIndices(5, 2)).toEqual([[0, 1], [2, 3], [4]]);
    expect(batchIndices(5, 2, { dropLast: true })).toEqual([
      [0, 1],
      [2, 3],
    ]);
    const shuffled = batchIndices(10, 3, { seed: 1 });
    expect(sorted(shuffled.flat())).toEqual(range(10));
    expect(batchIndices(10, 3, { seed: 1 })).toEqual(shuffled);
    expect(caught(() => batchIndices(5, 0)).message).toMatch(/batchSize to be a positive integer, found 0/);
  });
});

describe('bucketByLength', () => {
  it('puts every index in exactly one batch, deterministically', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 30 }), { maxLength: 300 }),
        fc.integer({ min: 1, max: 16 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer(),
        (lengths, batchSize, batchesPerPool, seed) => {
          const batches = bucketByLength(lengths, { batchSize, batchesPerPool, seed });
          expect(sorted(batches.flat())).toEqual(range(lengths.length));
          expect(batches.filter((b) => b.length < batchSize).length).toBeLessThanOrEqual(
            Math.ceil(lengths.length / (batchSize * batchesPerPool)),
          );
          expect(bucketByLength(lengths, { batchSize, batchesPerPool, seed })).toEqual(batches);
        },
      ),
    );
  });

  it('wastes less on padding than random batches', () => {
    const rng = new Rng(4);
    const lengths = Array.from({ length: 2000 }, () => 1 + rng.int(40));
    const padding = (batches: number[][]): number => {
      let waste = 0;
      for (const b of batches) {
        const longest = Math.max(...b.map((i) => lengths[i]!));
        for (const i of b) waste += longest - lengths[i]!;
      }
      return waste;
    };
    const random = padding(batchIndices(lengths.length, 32, { seed: 1 }));
    const bucketed = padding(bucketByLength(lengths, { batchSize: 32, seed: 1 }));
    const global = padding(
      bucketByLength(lengths, { batchSize: 32, seed: 1, batchesPerPool: Number.POSITIVE_INFINITY }),
    );
    expect(bucketed).toBeLessThan(random / 10);
    expect(global).toBeLessThanOrEqual(bucketed);
  });

  it('drops short batches on request and checks its options', () => {
    const batches = bucketByLength([1, 2, 3, 4, 5], { batchSize: 2, seed: 0, dropLast: true });
    expect(batches.every((b) => b.length === 2)).toBe(true);
    expect(batches.length).toBe(2);
    expect(caught(() => bucketByLength([1, Number.NaN], { batchSize: 2, seed: 0 })).message).toMatch(
      /finite lengths, found NaN at index 1/,
    );
    expect(caught(() => bucketByLength([1], { batchSize: 2, seed: 0, batchesPerPool: 0 })).message).toMatch(
      /batchesPerPool to be a positive integer/,
    );
  });
});
