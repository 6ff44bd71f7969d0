import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddingsError } from '../src/errors.js';
import type { KeyedVectors } from '../src/keyed-vectors.js';
import {
  defaultTableSize,
  resolveTrainOptions,
  type TrainOptions,
  type TrainProgress,
  train,
} from '../src/train.js';
import { trainFile, wordBoundaries } from '../src/train-file.js';
import { Vocab } from '../src/vocab.js';
import { plantedCorpus } from './corpus.js';
import { caught } from './helpers.js';

const TOPICS = 6;
const corpus = plantedCorpus(TOPICS);
const base: TrainOptions = {
  dim: 24,
  window: 2,
  epochs: 8,
  minCount: 1,
  sample: 0,
  tableSize: 10_000,
  seed: 3,
};

/** How many planted pairs have each other as nearest neighbour (both directions). */
function pairsFound(kv: KeyedVectors): number {
  let found = 0;
  for (let t = 0; t < TOPICS; t++) {
    const x = kv.mostSimilar({ positive: `x${t}`, topn: 1 })[0]?.word;
    const y = kv.mostSimilar({ positive: `y${t}`, topn: 1 })[0]?.word;
    if (x === `y${t}` && y === `x${t}`) found++;
  }
  return found;
}

let dir = '';
let corpusPath = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'recur-train-'));
  corpusPath = join(dir, 'planted.txt');
  await writeFile(corpusPath, corpus);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('train: a planted relation is learned', () => {
  const configs: [string, TrainOptions][] = [
    ['skip-gram + negative sampling', { model: 'skipgram', negative: 5 }],
    ['skip-gram + hierarchical softmax', { model: 'skipgram', negative: 0, hs: true }],
    ['CBOW + negative sampling', { model: 'cbow', negative: 5 }],
    ['CBOW + hierarchical softmax', { model: 'cbow', negative: 0, hs: true }],
    ['skip-gram + negative sampling, JavaScript loops', { model: 'skipgram', negative: 5, wasm: false }],
    [
      'skip-gram + hierarchical softmax, JavaScript loops',
      { model: 'skipgram', negative: 0, hs: true, wasm: false },
    ],
    ['CBOW + negative sampling, JavaScript loops', { model: 'cbow', negative: 5, wasm: false }],
    ['CBOW + hierarchical softmax, JavaScript loops', { model: 'cbow', negative: 0, hs: true, wasm: false }],
  ];
  for (const [name, opts] of configs) {
    it(name, async () => {
      const { vectors, vocab, words, wasm } = await train(corpus, { ...base, ...opts });
      expect(wasm).toBe(opts.wasm !== false);
      expect(vocab.size).toBe(1 + TOPICS * (2 + 2 * 5));
      expect(words).toBe(base.epochs! * vocab.totalCount);
      expect(pairsFound(vectors)).toBe(TOPICS);
      // Words of unrelated topics stay far apart.
      expect(vectors.similarity('x0', 'x1')).toBeLessThan(vectors.similarity('x0', 'y0') - 0.2);
    });
  }

  it('an untrained model does not show the relation (the test can fail)', async () => {
    const { vectors } = await train(corpus, { ...base, model: 'skipgram', alpha: 1e-9, minAlpha: 0 });
    expect(pairsFound(vectors)).toBeLessThan(TOPICS);
  });
});

describe('train: determinism and sources', () => {
  const opts: TrainOptions = { ...base, model: 'skipgram', epochs: 2, sample: 1e-2 };

  for (const wasm of [true, false]) {
    it(`gives the same vectors bit for bit for a seed, and others for another seed (wasm: ${wasm})`, async () => {
      const a = await train(corpus, { ...opts, wasm });
      const b = await train(corpus, { ...opts, wasm });
      const c = await train(corpus, { ...opts, wasm, seed: 4 });
      expect(Buffer.from(a.vectors.vectors.buffer).equals(Buffer.from(b.vectors.vectors.buffer))).toBe(true);
      expect(Buffer.from(a.vectors.vectors.buffer).equals(Buffer.from(c.vectors.vectors.buffer))).toBe(false);
    });
  }

  it('the SIMD and JavaScript loops compute the same model up to rounding', async () => {
    const a = await train(corpus, { ...opts, wasm: true });
    const b = await train(corpus, { ...opts, wasm: false });
    let maxDiff = 0;
    for (let i = 0; i < a.vectors.vectors.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(a.vectors.vectors[i]! - b.vectors.vectors[i]!));
    }
    expect(maxDiff).toBeGreaterThan(0);
    expect(maxDiff).toBeLessThan(1e-3);
  });

  it('does not depend on how the text is cut into chunks, nor on the source kind', async () => {
    const whole = await train(corpus, opts);
    const pieces: string[] = [];
    for (let i = 0; i < corpus.length; i += 37) pieces.push(corpus.slice(i, i + 37));
    const chunked = await train(pieces, opts);
    const generated = await train(async function* () {
      yield* pieces;
    }, opts);
    expect(chunked.vectors.vectors).toEqual(whole.vectors.vectors);
    expect(generated.vectors.vectors).toEqual(whole.vectors.vectors);
  });

  it('trainFile with one thread equals train on the same text', async () => {
    for (const wasm of [true, false]) {
      const mem = await train(corpus, { ...opts, wasm });
      const file = await trainFile(corpusPath, { ...opts, wasm });
      expect(file.threads).toBe(1);
      expect(file.wasm).toBe(wasm);
      expect(file.vectors.vectors).toEqual(mem.vectors.vectors);
    }
  });

  it('accepts a vocabulary built beforehand', async () => {
    const vocab = Vocab.fromText(corpus, { minCount: 1 });
    const a = await train(corpus, { ...opts, vocab });
    const b = await train(corpus, opts);
    expect(a.vectors.vectors).toEqual(b.vectors.vectors);
  });
});

describe('trainFile with several threads', () => {
  it('trains to the same quality on shared weights, with plain JavaScript loops too', async () => {
    const js = await trainFile(corpusPath, { ...base, model: 'cbow', threads: 2, wasm: false });
    expect(js.wasm).toBe(false);
    expect(pairsFound(js.vectors)).toBe(TOPICS);
  });

  it('trains to the same quality on shared weights', async () => {
    const reports: TrainProgress[] = [];
    const r = await trainFile(corpusPath, {
      ...base,
      model: 'skipgram',
      threads: 2,
      progressInterval: 0,
      onProgress: (p) => reports.push(p),
    });
    expect(r.threads).toBe(2);
    expect(r.words).toBe(base.epochs! * r.vocab.totalCount);
    expect(pairsFound(r.vectors)).toBe(TOPICS);
    expect(reports.at(-1)!.progress).toBe(1);
  });

  it('cuts the file at word boundaries so every token is read once', async () => {
    const path = join(dir, 'bounds.txt');
    const text = 'alpha beta\tgamma\ndelta  epsilon zeta eta\ntheta';
    await writeFile(path, text);
    for (const n of [1, 2, 3, 5, 8]) {
      const b = wordBoundaries(path, text.length, n);
      expect(b).toHaveLength(n + 1);
      expect(b[0]).toBe(0);
      expect(b.at(-1)).toBe(text.length);
      const tokens = b.slice(0, -1).flatMap((s, i) =>
        text
          .slice(s, b[i + 1])
          .split(/[ \t\n]+/)
          .filter(Boolean),
      );
      expect(tokens).toEqual(text.split(/[ \t\n]+/));
    }
  });
});

describe('progress', () => {
  it('reports words/second, a decaying learning rate, progress, ETA and epoch', async () => {
    const reports: TrainProgress[] = [];
    const big = corpus.repeat(4);
    await train(big, {
      ...base,
      model: 'skipgram',
      epochs: 3,
      alpha: 0.02,
      progressInterval: 0,
      onProgress: (p) => reports.push(p),
    });
    expect(reports.length).toBeGreaterThan(5);
    for (let i = 1; i < reports.length; i++) {
      expect(reports[i]!.progress).toBeGreaterThanOrEqual(reports[i - 1]!.progress);
      expect(reports[i]!.alpha).toBeLessThanOrEqual(reports[i - 1]!.alpha);
      expect(reports[i]!.epoch).toBeGreaterThanOrEqual(reports[i - 1]!.epoch);
    }
    const last = reports.at(-1)!;
    expect(last.progress).toBe(1);
    expect(last.epoch).toBe(3);
    expect(last.alpha).toBeLessThan(0.02 * 0.01);
    expect(last.alpha).toBeGreaterThanOrEqual(0.02 * 1e-4);
    expect(last.etaSeconds).toBe(0);
    expect(reports[0]!.alpha).toBeLessThanOrEqual(0.02);
    expect(reports[0]!.alpha).toBeGreaterThan(0.015);
    expect(reports.every((p) => p.wordsPerSecond > 0 && Number.isFinite(p.etaSeconds))).toBe(true);
  });
});

describe('options', () => {
  it("fills in word2vec.c's defaults", () => {
    const cbow = resolveTrainOptions({});
    expect(cbow).toMatchObject({ model: 'cbow', dim: 100, window: 5, negative: 5, hs: false, epochs: 5 });
    expect(cbow).toMatchObject({ sample: 1e-3, minCount: 5, alpha: 0.05, cbowMean: true, threads: 1 });
    expect(cbow.minAlpha).toBeCloseTo(0.05 * 1e-4, 12);
    expect(resolveTrainOptions({ model: 'skipgram' }).alpha).toBe(0.025);
  });

  it('rejects bad options saying what was expected, what was found and how to fix it', () => {
    const msg = (o: TrainOptions) => caught(() => resolveTrainOptions(o)).message;
    expect(msg({ dims: 10 } as TrainOptions)).toMatch(/unknown option "dims".*Did you mean "dim"\?/);
    expect(msg({ dim: 0 })).toMatch(
      /expected dim to be an integer >= 1, found 0\. Use e\.g\. \{ dim: 100 \}/,
    );
    expect(msg({ window: 2.5 })).toMatch(/window to be an integer >= 1, found 2\.5/);
    expect(msg({ model: 'sg' as 'cbow' })).toMatch(/model to be 'skipgram' or 'cbow', found "sg"/);
    expect(msg({ negative: 0 })).toMatch(/negative > 0 or hs: true.*Use \{ negative: 5 \}/);
    expect(msg({ sample: -1 })).toMatch(/sample to be a finite number >= 0, found -1/);
    expect(msg({ alpha: 0 })).toMatch(/alpha to be a finite number > 0/);
    expect(msg({ alpha: 0.01, minAlpha: 0.1 })).toMatch(/minAlpha <= alpha/);
    expect(msg({ epochs: '3' as unknown as number })).toMatch(/epochs to be an integer >= 1, found "3"/);
    expect(msg({ hs: 1 as unknown as boolean })).toMatch(/hs to be true or false, found 1/);
    expect(caught(() => resolveTrainOptions({ dim: -1 }))).toBeInstanceOf(EmbeddingsError);
  });

  it('refuses several threads in memory, one-shot iterators and too small vocabularies', async () => {
    await expect(train(corpus, { threads: 2 })).rejects.toThrow(/threads: 1.*trainFile/);
    const once = (function* () {
      yield corpus;
    })();
    await expect(train(once, base)).rejects.toThrow(
      /one-shot iterator.*function that returns a new iterable/,
    );
    await expect(train('a b c\n', { minCount: 5 })).rejects.toThrow(/at least one word seen minCount \(5\)/);
    await expect(trainFile(join(dir, 'missing.txt'))).rejects.toThrow(/missing\.txt/);
  });

  it('sizes the negative-sampling table so the rarest word gets about 10 slots', () => {
    expect(defaultTableSize([0, 1, 1])).toBe(10_000);
    // count^0.75: 2^20 -> 2^15, 16 -> 8, 1 -> 1; 10 slots for the rarest: 10 * (32768 + 8 + 1) / 1.
    expect(defaultTableSize([0, 2 ** 20, 16, 1])).toBe(327_770);
    expect(defaultTableSize([0, 2 ** 20, 16])).toBe(Math.ceil((10 * (32_768 + 8)) / 8));
    expect(defaultTableSize([1e12, 1])).toBe(1e8);
  });
});
