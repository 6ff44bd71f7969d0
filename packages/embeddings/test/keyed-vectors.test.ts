import { Rng } from '@recur/tensor';
import { describe, expect, it } from 'vitest';
import { UnknownWordError } from '../src/errors.js';
import { KeyedVectors } from '../src/keyed-vectors.js';
import { topK } from '../src/topk.js';
import { caught, kv } from './helpers.js';

const norm = (v: number[]) => Math.hypot(...v);
const unit = (v: number[]) => v.map((x) => x / norm(v));
const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);
const cos = (a: number[], b: number[]) => dot(unit(a), unit(b));

const ROWS: Record<string, number[]> = {
  man: [1, 0, 0],
  woman: [0, 1, 0],
  king: [1, 0, 1],
  queen: [0, 1, 1],
  prince: [1, 0, 0.9],
  apple: [0, 0, -1],
};

describe('KeyedVectors basics', () => {
  const m = kv(ROWS);

  it('looks words up and returns copies', () => {
    expect(m.size).toBe(6);
    expect(m.dim).toBe(3);
    expect(m.has('king')).toBe(true);
    expect(m.has('King')).toBe(false);
    expect(m.indexOf('queen')).toBe(3);
    expect(m.indexOf('nope')).toBe(-1);
    const v = m.get('king');
    expect([...v]).toEqual([1, 0, 1]);
    v[0] = 99;
    expect(m.get('king')[0]).toBe(1);
    const n = m.getNormalized('king');
    expect(n[0]).toBeCloseTo(Math.SQRT1_2, 6);
    expect(n[1]).toBe(0);
    expect(n[2]).toBeCloseTo(Math.SQRT1_2, 6);
  });

  it('computes cosine similarity, independent of vector length', () => {
    expect(m.similarity('man', 'woman')).toBe(0);
    expect(m.similarity('man', 'king')).toBeCloseTo(Math.SQRT1_2, 6);
    expect(m.similarity('king', 'king')).toBeCloseTo(1, 6);
    expect(m.similarity('apple', 'queen')).toBeCloseTo(-Math.SQRT1_2, 6);
    const scaled = kv({ a: [3, 0], b: [0.5, 0.5] });
    expect(scaled.similarity('a', 'b')).toBeCloseTo(Math.SQRT1_2, 6);
  });

  it('treats an all-zero vector as similar to nothing (0, not NaN)', () => {
    const z = kv({ zero: [0, 0], a: [1, 2] });
    expect(z.similarity('zero', 'a')).toBe(0);
    expect(z.mostSimilar({ positive: 'a' })).toEqual([{ word: 'zero', similarity: 0 }]);
  });

  it('names every unknown word in one error', () => {
    const e = caught(() => m.mostSimilar({ positive: ['king', 'kingg'], negative: ['mann'] }));
    expect(e).toBeInstanceOf(UnknownWordError);
    expect((e as UnknownWordError).words).toEqual(['kingg', 'mann']);
    expect(e.message).toMatch(/unknown words "kingg", "mann"/);
    expect(() => m.get('Queen')).toThrow(/unknown word "Queen"/);
    expect(() => m.similarity('king', 'x')).toThrow(UnknownWordError);
    expect(() => m.doesntMatch(['king', 'x'])).toThrow(/"x"/);
  });

  it('rejects inconsistent construction', () => {
    expect(() => new KeyedVectors(['a', 'b'], new Float32Array(3), 2)).toThrow(/2 × 2 = 4 values/);
    expect(() => new KeyedVectors(['a', 'a'], new Float32Array(2), 1)).toThrow(/unique words.*rows 0 and 1/);
    expect(() => new KeyedVectors([], new Float32Array(0), 0)).toThrow(/dim/);
  });
});

describe('mostSimilar (3CosAdd)', () => {
  const m = kv(ROWS);

  it('solves the hand-made analogy king - man + woman = queen with the exact score', () => {
    const res = m.mostSimilar({ positive: ['king', 'woman'], negative: ['man'], topn: 3 });
    const mean = unit(ROWS.king!).map((x, i) => x + unit(ROWS.woman!)[i]! - unit(ROWS.man!)[i]!);
    expect(res.map((r) => r.word)).toEqual(['queen', 'prince', 'apple']);
    expect(res[0]!.similarity).toBeCloseTo(cos(mean, ROWS.queen!), 6);
    expect(res[2]!.similarity).toBeCloseTo(cos(mean, ROWS.apple!), 6);
  });

  it('excludes input words, honours topn and restrictVocab, accepts a single word or a raw vector', () => {
    expect(m.mostSimilar({ positive: 'king', topn: 2 }).map((r) => r.word)).toEqual(['prince', 'man']);
    expect(m.mostSimilar({ positive: 'king', topn: 100 })).toHaveLength(5);
    expect(m.mostSimilar({ positive: 'king', topn: 0 })).toEqual([]);
    expect(m.mostSimilar({ positive: 'king', restrictVocab: 4 }).map((r) => r.word)).toEqual([
      'man',
      'queen',
      'woman',
    ]);
    const raw = m.mostSimilar({ positive: Float32Array.of(1, 0, 1), topn: 1 });
    expect(raw).toEqual([{ word: 'king', similarity: expect.closeTo(1, 6) }]);
    const neg = m.mostSimilar({ negative: 'apple', topn: 1 });
    expect(neg[0]!.word).toBe('king');
    expect(neg[0]!.similarity).toBeCloseTo(Math.SQRT1_2, 6);
  });

  it('breaks exact ties by vocabulary order', () => {
    const t = kv({ q: [1, 0], b: [0, 1], a: [0, 1], c: [0, 1] });
    expect(t.mostSimilar({ positive: 'b' }).map((r) => r.word)).toEqual(['a', 'c', 'q']);
  });

  it('rejects empty queries, bad topn/restrictVocab and wrong-length raw vectors', () => {
    expect(() => m.mostSimilar({})).toThrow(/at least one positive or negative word/);
    expect(() => m.mostSimilar({ positive: 'king', topn: -1 })).toThrow(/topn/);
    expect(() => m.mostSimilar({ positive: 'king', restrictVocab: 0 })).toThrow(/restrictVocab/);
    expect(() => m.mostSimilar({ positive: Float32Array.of(1, 2) })).toThrow(/raw vectors of length 3/);
  });
});

describe('mostSimilarCosmul (3CosMul)', () => {
  const m = kv(ROWS);

  it('scores prod((1+cos)/2 of positives) / (prod((1+cos)/2 of negatives) + 1e-6)', () => {
    const res = m.mostSimilarCosmul({ positive: ['king', 'woman'], negative: ['man'], topn: 3 });
    const score = (w: string) => {
      const s = (x: string) => (1 + cos(ROWS[w]!, ROWS[x]!)) / 2;
      return (s('king') * s('woman')) / (s('man') + 1e-6);
    };
    expect(res.map((r) => r.word)).toEqual(['queen', 'prince', 'apple']);
    for (const r of res) expect(r.similarity).toBeCloseTo(score(r.word), 6);
  });

  it('divides by 1 + 1e-6 without negatives and needs a positive word', () => {
    const res = m.mostSimilarCosmul({ positive: 'man', topn: 1 });
    expect(res[0]!.word).toBe('prince');
    expect(res[0]!.similarity).toBeCloseTo((1 + 1 / Math.hypot(1, 0.9)) / 2 / (1 + 1e-6), 7);
    expect(() => m.mostSimilarCosmul({ negative: 'man' })).toThrow(/at least one positive word/);
  });

  it('differs from 3CosAdd when one term dominates (Levy & Goldberg)', () => {
    // b1 is nearly x but slightly opposed to y; b2 is moderately close to both.
    // 3CosAdd: b1 scores ~0.995 - 0.0995 = 0.896 > b2's 0.44 + 0.44 = 0.88.
    // 3CosMul: b1 scores ~1.995 * 0.900 / 4 = 0.449 < b2's 1.44 * 1.44 / 4 = 0.518.
    const d = kv({
      x: [1, 0, 0],
      y: [0, 1, 0],
      b1: [1, -0.1, 0],
      b2: [0.44, 0.44, Math.sqrt(1 - 2 * 0.44 ** 2)],
    });
    expect(d.mostSimilar({ positive: ['x', 'y'], topn: 1 })[0]!.word).toBe('b1');
    const mul = d.mostSimilarCosmul({ positive: ['x', 'y'], topn: 2 });
    expect(mul.map((r) => r.word)).toEqual(['b2', 'b1']);
    expect(mul[0]!.similarity).toBeCloseTo((1.44 * 1.44) / 4 / (1 + 1e-6), 6);
  });
});

describe('against a brute-force reference on random vectors', () => {
  it('returns the same top scores for 3CosAdd and 3CosMul', () => {
    const rng = new Rng(11);
    for (let trial = 0; trial < 20; trial++) {
      const v = 30;
      const d = 8;
      const rows = Array.from({ length: v }, () =>
        Array.from({ length: d }, () => Math.fround(rng.normal())),
      );
      const words = rows.map((_, i) => `w${i}`);
      const m = new KeyedVectors(words, Float32Array.from(rows.flat()), d);
      const pos = [rng.int(v), rng.int(v)];
      const neg = [rng.int(v)];
      if (new Set([...pos, ...neg]).size < 3) continue;
      const inputs = new Set([...pos, ...neg]);
      const mean = Array.from(
        { length: d },
        (_, k) =>
          pos.reduce((s, p) => s + unit(rows[p]!)[k]!, 0) - neg.reduce((s, n) => s + unit(rows[n]!)[k]!, 0),
      );
      const refAdd = rows.map((r, i) => ({ i, s: cos(r, mean) })).filter((e) => !inputs.has(e.i));
      const refMul = rows
        .map((r, i) => {
          const sh = (j: number) => (1 + cos(r, rows[j]!)) / 2;
          return { i, s: (sh(pos[0]!) * sh(pos[1]!)) / (sh(neg[0]!) + 1e-6) };
        })
        .filter((e) => !inputs.has(e.i));
      const query = { positive: pos.map((i) => words[i]!), negative: neg.map((i) => words[i]!), topn: 7 };
      for (const [got, ref] of [
        [m.mostSimilar(query), refAdd],
        [m.mostSimilarCosmul(query), refMul],
      ] as const) {
        const best = [...ref].sort((a, b) => b.s - a.s).slice(0, 7);
        expect(got).toHaveLength(7);
        got.forEach((r, k) => {
          expect(r.similarity).toBeCloseTo(best[k]!.s, 5);
          expect(r.similarity).toBeCloseTo(ref.find((e) => words[e.i] === r.word)!.s, 5);
        });
      }
    }
  });
});

describe('doesntMatch', () => {
  it('finds the odd one out', () => {
    const m = kv({ breakfast: [1, 0.1, 0], lunch: [0.9, 0.2, 0], dinner: [1, 0, 0.1], car: [0, 0, 1] });
    expect(m.doesntMatch(['breakfast', 'car', 'lunch', 'dinner'])).toBe('car');
    const t = kv({ a: [1, 0, 0], b: [0.95, 0.05, 0], c: [0.2, 0.98, 0] });
    expect(t.doesntMatch(['a', 'c', 'b'])).toBe('c');
    expect(() => m.doesntMatch(['car'])).toThrow(/at least 2 words/);
  });
});

describe('topK', () => {
  it('agrees with a full sort, ties by index, skipping excluded and NaN scores', () => {
    const rng = new Rng(5);
    for (let t = 0; t < 50; t++) {
      const n = 1 + rng.int(40);
      const scores = Float64Array.from({ length: n }, () => (rng.int(10) === 0 ? Number.NaN : rng.int(8)));
      const exclude = new Set([rng.int(n), rng.int(n)]);
      const k = rng.int(n + 3);
      const limit = rng.int(n + 1);
      const ref = Array.from({ length: limit }, (_, i) => i)
        .filter((i) => !exclude.has(i) && !Number.isNaN(scores[i]))
        .sort((a, b) => scores[b]! - scores[a]! || a - b)
        .slice(0, k);
      expect(topK(scores, k, limit, exclude)).toEqual(ref);
    }
  });
});
