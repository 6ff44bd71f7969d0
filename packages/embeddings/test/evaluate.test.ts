import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EmbeddingsFormatError } from '../src/errors.js';
import {
  evaluateAnalogies,
  evaluateWordPairs,
  parseAnalogies,
  parseWordPairs,
  pearson,
  rankData,
  spearman,
} from '../src/evaluate.js';
import { readAnalogies, readWordPairs } from '../src/files.js';
import { caught, kv } from './helpers.js';

describe('rankData / spearman', () => {
  it('gives tied values the mean of their ranks', () => {
    expect(rankData([10, 20, 20, 5])).toEqual([2, 3.5, 3.5, 1]);
    expect(rankData([7, 7, 7])).toEqual([2, 2, 2]);
    expect(rankData([3, 1, 4, 1, 5, 9, 2, 6])).toEqual([4, 1.5, 5, 1.5, 6, 8, 3, 7]);
  });

  it('matches hand-computed correlations, with and without ties', () => {
    expect(spearman([1, 2, 3, 4, 5], [2, 4, 6, 8, 10])).toBe(1);
    expect(spearman([1, 2, 3, 4, 5], [5, 4, 3, 2, 1])).toBe(-1);
    // Ranks of y: 1, 2, 3.5, 5, 3.5; centred: x (-2,-1,0,1,2), y (-2,-1,.5,2,.5):
    // sum xy = 8, sum x² = 10, sum y² = 9.5, rho = 8 / sqrt(95).
    expect(spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7])).toBeCloseTo(8 / Math.sqrt(95), 14);
    // Without ties, 1 - 6 Σd² / (n(n² - 1)): d = (0, 0, 1, -1) → 1 - 12/60 = 0.8.
    expect(spearman([1, 2, 3, 4], [10, 20, 40, 30])).toBeCloseTo(0.8, 14);
    // Ties on both sides (scipy.stats.spearmanr gives 0.19885368120992467).
    expect(spearman([3, 1, 4, 1, 5, 9, 2, 6], [2, 7, 1, 8, 2, 8, 1, 8])).toBeCloseTo(0.19885368120992467, 12);
    expect(spearman([1, 1, 1], [1, 2, 3])).toBeNaN();
    expect(pearson([1, 2, 3], [2, 4, 7])).toBeCloseTo(0.9933992677987828, 14);
  });

  it('is in [-1, 1], symmetric, and unchanged by increasing transforms (property)', () => {
    const arb = fc
      .array(fc.tuple(fc.integer({ min: -20, max: 20 }), fc.integer({ min: -20, max: 20 })), {
        minLength: 3,
        maxLength: 30,
      })
      .filter((ps) => new Set(ps.map((p) => p[0])).size > 1 && new Set(ps.map((p) => p[1])).size > 1);
    fc.assert(
      fc.property(arb, (ps) => {
        const xs = ps.map((p) => p[0]);
        const ys = ps.map((p) => p[1]);
        const r = spearman(xs, ys);
        expect(Math.abs(r)).toBeLessThanOrEqual(1 + 1e-12);
        expect(spearman(ys, xs)).toBeCloseTo(r, 12);
        expect(
          spearman(
            xs.map((x) => x ** 3 + 5),
            ys.map((y) => Math.exp(y / 10)),
          ),
        ).toBeCloseTo(r, 12);
        expect(
          spearman(
            xs.map((x) => -x),
            ys,
          ),
        ).toBeCloseTo(-r, 12);
      }),
    );
  });
});

describe('word pairs', () => {
  const text =
    '# comment line\n# Word 1\tWord 2\tHuman (mean)\nKing\tqueen\t8.5\nking\tman\t5\r\nking\tzebra\t1\n\n';

  it('skips comments, reads tab-separated pairs, and reports the OOV ratio', () => {
    const pairs = parseWordPairs(text);
    expect(pairs).toEqual([
      { a: 'King', b: 'queen', score: 8.5 },
      { a: 'king', b: 'man', score: 5 },
      { a: 'king', b: 'zebra', score: 1 },
    ]);
    const v = kv({ king: [1, 0], queen: [0.9, 0.1], man: [0.5, 0.5], KING: [0, 1] });
    const r = evaluateWordPairs(v, pairs);
    expect(r.pairs).toBe(2);
    expect(r.skipped).toBe(1);
    expect(r.oovRatio).toBeCloseTo(1 / 3, 14);
    expect(r.spearman).toBe(1);
    // Case-sensitive: "King" is unknown.
    expect(evaluateWordPairs(v, pairs, { caseInsensitive: false }).pairs).toBe(1);
  });

  it('reports malformed lines with their line number', () => {
    const err = caught(() => parseWordPairs('a\tb\t1\na b 2\n'));
    expect(err).toBeInstanceOf(EmbeddingsFormatError);
    expect(err.message).toMatch(/^line 2: expected "word1<tab>word2<tab>score"/);
    expect(() => parseWordPairs('a\tb\tx\n')).toThrow(/numeric score/);
  });
});

describe('analogies', () => {
  // Unit directions: the answer to "man king woman ?" is queen by construction.
  const v = kv({
    the: [0, 0, 0, 1],
    man: [1, 0, 0, 0],
    woman: [1, 1, 0, 0],
    king: [1, 0, 1, 0],
    queen: [1, 1, 1, 0],
    Paris: [0, 0, 1, 1],
    paris: [0, 0.1, 1, 1],
    rare: [0, 1, 0, 1],
  });
  const file =
    ': royals\nman king woman queen\nMAN KING WOMAN QUEEN\nman king woman rare\n: oov\nman king woman unicorn\n';

  it('parses sections and questions', () => {
    const s = parseAnalogies(file);
    expect(s.map((x) => [x.name, x.questions.length])).toEqual([
      ['royals', 3],
      ['oov', 1],
    ]);
    expect(() => parseAnalogies('a b c d\n')).toThrow(/line 1: expected a section header/);
    expect(() => parseAnalogies(': s\na b c\n')).toThrow(/line 2: expected an analogy "a b c d"/);
  });

  it('scores per section and in total, case-insensitively, skipping unknown words', () => {
    const r = evaluateAnalogies(v, parseAnalogies(file));
    expect(r.sections[0]).toEqual({ name: 'royals', correct: 2, attempted: 3, skipped: 0, accuracy: 2 / 3 });
    expect(r.sections[1]).toEqual({ name: 'oov', correct: 0, attempted: 0, skipped: 1, accuracy: 0 });
    expect(r.total).toMatchObject({ correct: 2, attempted: 3, skipped: 1 });
    expect(r.oovRatio).toBe(0.25);
    expect(evaluateAnalogies(v, parseAnalogies(file), { method: '3cosmul' }).total.correct).toBe(2);
    // Case-sensitive, the upper-case question is skipped.
    expect(evaluateAnalogies(v, parseAnalogies(file), { caseInsensitive: false }).total).toMatchObject({
      correct: 1,
      attempted: 2,
    });
  });

  it('scores the same with the SIMD and the plain loops', () => {
    // 40 random words in 7 dimensions (an odd size, for the loops' tails) and random questions.
    let seed = 9;
    const rand = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32 - 0.5;
    };
    const words = Array.from({ length: 40 }, (_, i) => `w${i}`);
    const big = kv(Object.fromEntries(words.map((w) => [w, Array.from({ length: 7 }, rand)])));
    const lines = Array.from({ length: 60 }, () =>
      Array.from({ length: 4 }, () => words[Math.floor((rand() + 0.5) * 40)]).join(' '),
    );
    const q = parseAnalogies(`: random\n${lines.join('\n')}\n`);
    for (const method of ['3cosadd', '3cosmul'] as const) {
      const a = evaluateAnalogies(big, q, { method, wasm: true });
      const b = evaluateAnalogies(big, q, { method, wasm: false });
      expect(a.total.attempted).toBe(60);
      expect(a.total.correct).toBeGreaterThan(0);
      expect(a).toEqual(b);
    }
  });

  it('restricts questions and answers to the most frequent words', () => {
    // With only the first 4 rows, "queen" is out of the vocabulary: every question is skipped.
    const r = evaluateAnalogies(v, parseAnalogies(file), { restrictVocab: 4 });
    expect(r.total.attempted).toBe(0);
    // An answer outside the restricted vocabulary cannot be predicted.
    const q = parseAnalogies(': s\nking queen man woman\n');
    expect(evaluateAnalogies(v, q).total.correct).toBe(1);
    expect(evaluateAnalogies(v, q, { restrictVocab: 3 }).total.attempted).toBe(0);
  });

  it('never answers with a spelling of an input word', () => {
    // "paris" is nearest to the query (= Paris) but is a case variant of an input word, so the
    // answer is the next nearest, "the"; case-sensitively "Paris" and "paris" are different words.
    const q = parseAnalogies(': s\nman man Paris the\n');
    expect(evaluateAnalogies(v, q).total).toMatchObject({ attempted: 1, correct: 1 });
    const sensitive = parseAnalogies(': s\nman man Paris paris\n');
    expect(evaluateAnalogies(v, sensitive, { caseInsensitive: false }).total.correct).toBe(1);
  });
});

describe('reading evaluation files', () => {
  it('reads the shipped formats and names the file in errors', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'recur-eval-'));
    try {
      await writeFile(join(dir, 'q.txt'), ': s\na b c d\n');
      await writeFile(join(dir, 'p.tsv'), '# c\na\tb\t1\n');
      await writeFile(join(dir, 'bad.tsv'), 'a\tb\n');
      expect((await readAnalogies(join(dir, 'q.txt')))[0]!.questions).toEqual([['a', 'b', 'c', 'd']]);
      expect(await readWordPairs(join(dir, 'p.tsv'))).toEqual([{ a: 'a', b: 'b', score: 1 }]);
      await expect(readWordPairs(join(dir, 'bad.tsv'))).rejects.toThrow(/bad\.tsv: line 1: expected/);
      await expect(readAnalogies(join(dir, 'none.txt'))).rejects.toThrow(/none\.txt/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
