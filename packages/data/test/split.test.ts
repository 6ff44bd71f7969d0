import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  classCounts,
  DataError,
  dedupe,
  type Example,
  majorityBaseline,
  randomSplit,
  stratifiedSplit,
} from '../src/index.js';
import { caught } from './helpers.js';

const ex = (input: string, label: string): Example => ({ input, label });

/** Labelled examples with repeats and inputs shared between labels. */
const examplesArb = fc.array(
  fc.record({
    input: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz'.split('').map((c) => c + c)),
    label: fc.constantFrom('A', 'B', 'C'),
  }),
  { minLength: 1, maxLength: 200 },
);
/** The documented group counts of a stratum of n groups: round(n·f) each, at least one left for training. */
function expectedCounts(n: number, valid: number, test: number): { nValid: number; nTest: number } {
  let nTest = Math.round(n * test);
  let nValid = Math.round(n * valid);
  while (nTest + nValid > n - 1) {
    if (nValid >= nTest && nValid > 0) nValid--;
    else nTest--;
  }
  return { nValid, nTest };
}

const inputsArb = fc.array(fc.string({ minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 300 });

describe('dedupe', () => {
  it('removes repeated (input, label) pairs, keeping the first, in order', () => {
    const r = dedupe([ex('a', 'X'), ex('b', 'X'), ex('a', 'X'), ex('a', 'Y'), ex('b', 'X')]);
    expect(r.examples).toEqual([ex('a', 'X'), ex('b', 'X'), ex('a', 'Y')]);
    expect(r.removed).toBe(2);
  });
});

describe('stratifiedSplit', () => {
  it('partitions the deduplicated examples, with no input on two sides', () => {
    fc.assert(
      fc.property(examplesArb, fc.integer(), (examples, seed) => {
        const s = stratifiedSplit(examples, { valid: 0.2, test: 0.2, seed });
        const all = [...s.train, ...s.valid, ...s.test];
        const key = (e: Example): string => `${e.label}|${e.input}`;
        expect(all.map(key).sort()).toEqual(dedupe(examples).examples.map(key).sort());
        const side = new Map<string, string>();
        for (const [name, part] of Object.entries(s)) {
          for (const e of part as Example[]) {
            expect(side.get(e.input) ?? name).toBe(name);
            side.set(e.input, name);
          }
        }
      }),
    );
  });

  it('keeps each class in proportion (up to rounding) when inputs are unique', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 120 }), { minLength: 1, maxLength: 6 }),
        fc.integer(),
        (sizes, seed) => {
          const examples = sizes.flatMap((n, c) =>
            Array.from({ length: n }, (_, i) => ex(`c${c}-${i}`, `L${c}`)),
          );
          const s = stratifiedSplit(examples, { valid: 0.1, test: 0.2, seed });
          sizes.forEach((n, c) => {
            const count = (part: Example[]): number => part.filter((e) => e.label === `L${c}`).length;
            const { nValid, nTest } = expectedCounts(n, 0.1, 0.2);
            expect(count(s.test)).toBe(nTest);
            expect(count(s.valid)).toBe(nValid);
            expect(count(s.train)).toBe(n - nTest - nValid);
            expect(count(s.train)).toBeGreaterThanOrEqual(1);
          });
        },
      ),
    );
  });

  it('is deterministic for a seed and differs between seeds; order within a part is the input order', () => {
    const examples = Array.from({ length: 300 }, (_, i) => ex(`n${i}`, `L${i % 3}`));
    const a = stratifiedSplit(examples, { seed: 7 });
    expect(stratifiedSplit(examples, { seed: 7 })).toEqual(a);
    expect(stratifiedSplit(examples, { seed: 8 }).test).not.toEqual(a.test);
    for (const part of [a.train, a.valid, a.test]) {
      const pos = part.map((e) => examples.indexOf(e));
      expect(pos).toEqual([...pos].sort((x, y) => x - y));
    }
  });

  it('keeps a name listed under two labels on one side', () => {
    const examples = [
      ...Array.from({ length: 40 }, (_, i) => ex(`zh${i}`, 'Chinese')),
      ...Array.from({ length: 40 }, (_, i) => ex(`ko${i}`, 'Korean')),
      ...Array.from({ length: 10 }, (_, i) => ex(`shared${i}`, 'Chinese')),
      ...Array.from({ length: 10 }, (_, i) => ex(`shared${i}`, 'Korean')),
    ];
    for (let seed = 0; seed < 10; seed++) {
      const s = stratifiedSplit(examples, { seed, valid: 0.25, test: 0.25 });
      const train = new Set(s.train.map((e) => e.input));
      for (const e of [...s.valid, ...s.test]) expect(train.has(e.input)).toBe(false);
    }
  });

  it('can keep repeats (dedupe: false) and group by a custom key', () => {
    const examples = [
      ex('Ab', 'X'),
      ex('ab', 'X'),
      ex('Ab', 'X'),
      ex('cd', 'X'),
      ex('ef', 'X'),
      ex('gh', 'X'),
    ];
    const s = stratifiedSplit(examples, {
      dedupe: false,
      key: (e) => e.input.toLowerCase(),
      valid: 0,
      test: 0.5,
      seed: 1,
    });
    expect(s.train.length + s.test.length).toBe(6);
    const sideOf = (input: string): string => (s.train.some((e) => e.input === input) ? 'train' : 'test');
    expect(sideOf('Ab')).toBe(sideOf('ab'));
  });

  it('rejects empty input and bad fractions', () => {
    expect(caught(() => stratifiedSplit([])).message).toMatch(/at least one item, found an empty array/);
    const e = caught(() => stratifiedSplit([ex('a', 'X')], { valid: 0.5, test: 0.5 }));
    expect(e).toBeInstanceOf(DataError);
    expect(e.message).toMatch(/valid \+ test < 1 \(something must be left to train on\), found 0.5 \+ 0.5/);
    expect(caught(() => stratifiedSplit([ex('a', 'X')], { test: -0.1 })).message).toMatch(
      /test to be a fraction in \[0, 1\), found -0.1/,
    );
    expect(caught(() => stratifiedSplit([ex('a', 'X')], { valid: Number.NaN })).message).toMatch(/found NaN/);
  });
});

describe('randomSplit', () => {
  it('partitions any items, keeping equal keys together', () => {
    fc.assert(
      fc.property(inputsArb, fc.integer(), (items, seed) => {
        const s = randomSplit(items, { seed, valid: 0.1, test: 0.3 });
        expect([...s.train, ...s.valid, ...s.test].sort()).toEqual([...items].sort());
        const { nValid, nTest } = expectedCounts(items.length, 0.1, 0.3);
        expect(s.test.length).toBe(nTest);
        expect(s.valid.length).toBe(nValid);
        const g = randomSplit(items, { seed, valid: 0.1, test: 0.3, key: (x) => x });
        const train = new Set(g.train);
        for (const x of [...g.valid, ...g.test]) expect(train.has(x)).toBe(false);
      }),
    );
  });
});

describe('class counts and the majority baseline', () => {
  it('counts per label in label order and scores always-majority', () => {
    const train = [ex('a', 'R'), ex('b', 'R'), ex('c', 'E')];
    const test = [ex('d', 'R'), ex('e', 'E'), ex('f', 'E'), ex('g', 'R')];
    expect([...classCounts(train)]).toEqual([
      ['E', 1],
      ['R', 2],
    ]);
    expect(majorityBaseline(train, test)).toEqual({ label: 'R', accuracy: 0.5 });
    expect(caught(() => majorityBaseline([], test)).message).toMatch(/training examples, found none/);
    expect(caught(() => majorityBaseline(train, [])).message).toMatch(/test examples, found none/);
  });
});
