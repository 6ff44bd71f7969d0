import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { CharVocab, DataError, encodeBatch, oneHotBatch, oneHotEncode, padSequences } from '../src/index.js';
import { caught, useJsBackend, values } from './helpers.js';

beforeAll(() => {
  useJsBackend();
});

describe('padSequences', () => {
  it('pads batch-first with lengths and a mask', () => {
    const b = padSequences([[5, 6, 7], [8], [9, 10]], { padValue: 0 });
    expect(b.indices.shape).toEqual([3, 3]);
    expect(b.indices.dtype).toBe('i32');
    expect(b.indices.arraySync()).toEqual([
      [5, 6, 7],
      [8, 0, 0],
      [9, 10, 0],
    ]);
    expect(Array.from(b.lengths)).toEqual([3, 1, 2]);
    expect(b.mask.dtype).toBe('f32');
    expect(b.mask.arraySync()).toEqual([
      [1, 1, 1],
      [1, 0, 0],
      [1, 1, 0],
    ]);
    expect(b.maxLength).toBe(3);
  });

  it('pads time-first, the transpose of batch-first', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 6 }), {
          minLength: 1,
          maxLength: 5,
        }),
        fc.integer({ min: -1, max: 3 }),
        (seqs, padValue) => {
          const bf = padSequences(seqs, { padValue });
          const tf = padSequences(seqs, { padValue, layout: 'time-first' });
          const B = seqs.length;
          const T = bf.maxLength;
          expect(tf.indices.shape).toEqual([T, B]);
          const x = values(bf.indices);
          const y = values(tf.indices);
          const m = values(bf.mask);
          const n = values(tf.mask);
          for (let b = 0; b < B; b++) {
            for (let t = 0; t < T; t++) {
              expect(y[t * B + b]).toBe(x[b * T + t]);
              expect(n[t * B + b]).toBe(m[b * T + t]);
              const real = t < seqs[b]!.length;
              expect(m[b * T + t]).toBe(real ? 1 : 0);
              expect(x[b * T + t]).toBe(real ? seqs[b]![t] : padValue);
            }
          }
          expect(Array.from(tf.lengths)).toEqual(seqs.map((s) => s.length));
        },
      ),
    );
  });

  it('truncates to maxLength at the end or the start', () => {
    expect(padSequences([[1, 2, 3, 4], [5]], { maxLength: 2 }).indices.arraySync()).toEqual([
      [1, 2],
      [5, 0],
    ]);
    const s = padSequences([[1, 2, 3, 4], [5]], { maxLength: 2, truncate: 'start' });
    expect(s.indices.arraySync()).toEqual([
      [3, 4],
      [5, 0],
    ]);
    expect(Array.from(s.lengths)).toEqual([2, 1]);
  });

  it('rejects empty batches, empty sequences and bad options', () => {
    expect(caught(() => padSequences([])).message).toMatch(/at least one sequence, found an empty batch/);
    const e = caught(() => padSequences([[1], []]));
    expect(e).toBeInstanceOf(DataError);
    expect(e.message).toMatch(/an empty sequence at position 1. Drop empty texts/);
    expect(caught(() => padSequences([[1]], { layout: 'bt' as 'batch-first' })).message).toMatch(
      /layout 'batch-first' or 'time-first', found "bt"/,
    );
    expect(caught(() => padSequences([[1.5]])).message).toMatch(
      /integer indices, found 1.5 at sequence 0, step 0/,
    );
    expect(caught(() => padSequences([[1]], { padValue: 0.5 })).message).toMatch(/integer padValue/);
    expect(caught(() => padSequences([[1]], { maxLength: 0 })).message).toMatch(
      /maxLength to be a positive integer/,
    );
    expect(caught(() => padSequences([[1]], { truncate: 'middle' as 'end' })).message).toMatch(
      /truncate 'end' or 'start'/,
    );
  });
});

describe('encodeBatch', () => {
  const vocab = CharVocab.fromTexts(['Abe', 'Zhou', 'Müller']);

  it('encodes texts with the vocabulary and pads with <pad>', () => {
    const b = encodeBatch(vocab, ['Abe', 'Zhou', 'Mu\u0308ller']);
    expect(b.indices.shape).toEqual([3, 6]);
    expect(Array.from(b.lengths)).toEqual([3, 4, 6]);
    const rows = b.indices.arraySync() as number[][];
    expect(vocab.decode(rows[0]!)).toBe('Abe');
    expect(rows[0]!.slice(3)).toEqual([vocab.padIndex, vocab.padIndex, vocab.padIndex]);
    expect(vocab.decode(rows[2]!)).toBe('Müller');
    const tf = encodeBatch(vocab, ['Abe', 'Zhou'], { layout: 'time-first' });
    expect(tf.indices.shape).toEqual([4, 2]);
  });

  it('needs <pad>, and texts with at least one token', () => {
    const noPad = CharVocab.fromTexts(['ab'], { specials: ['unk'] });
    expect(caught(() => encodeBatch(noPad, ['a'])).message).toMatch(/a vocabulary with <pad>/);
    expect(caught(() => encodeBatch(vocab, ['Abe', ''])).message).toMatch(
      /at least one token, found "" at position 1/,
    );
  });
});

describe('one-hot', () => {
  const vocab = CharVocab.fromTexts(['abc']);

  it('encodes one text as [T, V]', () => {
    const x = oneHotEncode(vocab, 'cab');
    expect(x.shape).toEqual([3, vocab.size]);
    const rows = x.arraySync() as number[][];
    rows.forEach((row, t) => {
      expect(row.reduce((a, b) => a + b, 0)).toBe(1);
      expect(row[vocab.indexOf('cab'[t]!)]).toBe(1);
    });
  });

  it('gives zero vectors at padding in a batch', () => {
    const b = encodeBatch(vocab, ['abc', 'a']);
    const x = oneHotBatch(b, vocab.size);
    expect(x.shape).toEqual([2, 3, vocab.size]);
    const v = x.arraySync() as number[][][];
    expect(v[0]![2]![vocab.indexOf('c')]).toBe(1);
    expect(v[1]![0]![vocab.indexOf('a')]).toBe(1);
    expect(v[1]![1]!.every((z) => z === 0)).toBe(true);
    expect(v[1]![2]!.every((z) => z === 0)).toBe(true);
    expect(caught(() => oneHotBatch(b, 0)).message).toMatch(/depth to be a positive integer/);
  });
});
