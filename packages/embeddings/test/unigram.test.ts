import { Rng } from '@recur/tensor';
import { describe, expect, it } from 'vitest';
import { UnigramTable } from '../src/unigram.js';

function histogram(table: Int32Array, v: number): number[] {
  const h = new Array<number>(v).fill(0);
  for (const x of table) h[x]!++;
  return h;
}

describe('UnigramTable (word2vec.c InitUnigramTable)', () => {
  it('fills the hand-computed table for counts [81, 16, 1] and 100 slots', () => {
    // count^0.75 = 27, 8, 1 (sum 36). Word 0 keeps slots while a/100 <= 27/36 = 0.75, i.e. 0..75,
    // plus slot 76 where the test first fails: 77 slots. Word 1 then runs until a/100 > 35/36,
    // first true at a = 98: slots 77..98 = 22. Word 2 gets the last slot.
    const t = new UnigramTable([81, 16, 1], { tableSize: 100 });
    expect(histogram(t.table, 3)).toEqual([77, 22, 1]);
    expect([...t.table.subarray(75, 80)]).toEqual([0, 0, 1, 1, 1]);
    expect(t.table[98]).toBe(1);
    expect(t.table[99]).toBe(2);
    expect(t.size).toBe(100);
  });

  it('reproduces the C rounding: small tables can starve rare words, zero counts get one slot', () => {
    expect(histogram(new UnigramTable([5, 3, 2, 1], { tableSize: 10 }).table, 4)).toEqual([6, 2, 2, 0]);
    expect(histogram(new UnigramTable([16, 0, 16], { tableSize: 8 }).table, 3)).toEqual([6, 1, 1]);
    expect(histogram(new UnigramTable([4], { tableSize: 5 }).table, 1)).toEqual([5]);
  });

  it('honours a custom power', () => {
    // power 1: shares 3/4 and 1/4; word 0 keeps slots while a/10 <= 0.75 and takes slot 8 too.
    expect(histogram(new UnigramTable([3, 1], { tableSize: 10, power: 1 }).table, 2)).toEqual([9, 1]);
    // power 0.75 on the same counts: 3^0.75 / (3^0.75 + 1) = 0.6948, so a/10 > d1 first at a = 7.
    expect(histogram(new UnigramTable([3, 1], { tableSize: 10 }).table, 2)).toEqual([8, 2]);
  });

  it('samples frequencies that approach count^0.75, normalised', () => {
    const counts = [1000, 300, 50, 7, 1];
    const t = new UnigramTable(counts, { tableSize: 1_000_000 });
    const z = counts.reduce((s, c) => s + c ** 0.75, 0);
    const p = counts.map((c) => c ** 0.75 / z);
    const table = histogram(t.table, counts.length).map((n) => n / t.size);
    table.forEach((q, i) => {
      expect(Math.abs(q - p[i]!)).toBeLessThan(2e-6);
    });
    const n = 200_000;
    const drawn = t.sampleInto(new Int32Array(n), new Rng(42));
    const freq = histogram(drawn, counts.length).map((k) => k / n);
    freq.forEach((f, i) => {
      const sigma = Math.sqrt((p[i]! * (1 - p[i]!)) / n);
      expect(Math.abs(f - p[i]!)).toBeLessThan(5 * sigma + 1e-6);
    });
  });

  it('is deterministic for a seed, and sampleInto matches repeated sample', () => {
    const t = new UnigramTable([10, 5, 2, 1], { tableSize: 1000 });
    const a = t.sampleInto(new Int32Array(50), new Rng(7));
    const r = new Rng(7);
    expect([...a]).toEqual(Array.from({ length: 50 }, () => t.sample(r)));
    expect([...t.sampleInto(new Int32Array(50), new Rng(8))]).not.toEqual([...a]);
  });

  it('rejects bad sizes and counts with clear messages', () => {
    expect(() => new UnigramTable([], { tableSize: 10 })).toThrow(/at least 1 word/);
    expect(() => new UnigramTable([1], { tableSize: 0 })).toThrow(/tableSize/);
    expect(() => new UnigramTable([1], { tableSize: 2.5 })).toThrow(/tableSize/);
    expect(() => new UnigramTable([0, 0], { tableSize: 10 })).toThrow(/positive finite sum/);
    expect(() => new UnigramTable([1, -2], { tableSize: 10 })).toThrow(/finite counts/);
    expect(() => new UnigramTable([1], { tableSize: 10, power: Number.NaN })).toThrow(/power/);
  });
});
