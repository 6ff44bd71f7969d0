import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  arrayReader,
  batchify,
  bpttChunkCount,
  bpttChunks,
  bpttChunksFrom,
  CharVocab,
  collectIndices,
  DataError,
  encodeCorpus,
  encodeStream,
  WordVocab,
} from '../src/index.js';
import { caught, cutBytes, useJsBackend, values } from './helpers.js';

beforeAll(() => {
  useJsBackend();
});

const range = (n: number): Int32Array => Int32Array.from({ length: n }, (_, i) => i);

/** A chunk's values as [stream][step]. */
function rows(t: { shape: readonly number[] }, flat: number[], timeFirst: boolean): number[][] {
  const [a, b] = t.shape as [number, number];
  const B = timeFirst ? b : a;
  const T = timeFirst ? a : b;
  return Array.from({ length: B }, (_, s) =>
    Array.from({ length: T }, (_, k) => flat[timeFirst ? k * B + s : s * T + k]!),
  );
}

describe('batchify', () => {
  it('cuts the corpus into contiguous streams and drops the remainder', () => {
    const b = batchify(range(11), 3);
    expect(b.streamLength).toBe(3);
    expect(Array.from(b.data)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(caught(() => batchify(range(5), 3)).message).toMatch(
      /a corpus of at least 6 tokens for batchSize 3 \(two per stream: an input and its target\), found 5 tokens/,
    );
    expect(caught(() => batchify([0, 1.5, 2, 3], 1)).message).toMatch(
      /integer token indices, found 1.5 at 1/,
    );
  });
});

describe('bpttChunks', () => {
  it('yields inputs and next-token targets; chunk k+1 of each stream continues chunk k', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 120 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 9 }),
        fc.boolean(),
        fc.boolean(),
        (n, batchSize, seqLen, timeFirst, dropLast) => {
          fc.pre(Math.floor(n / batchSize) >= 2);
          const corpus = range(n).map((i) => (i * 7) % 13);
          const batched = batchify(corpus, batchSize);
          const L = batched.streamLength;
          const chunks = [
            ...bpttChunks(batched, { seqLen, dropLast, layout: timeFirst ? 'time-first' : 'batch-first' }),
          ];
          expect(chunks.length).toBe(bpttChunkCount(L, seqLen, dropLast));
          const seen: number[][] = Array.from({ length: batchSize }, () => []);
          let prevTargets: number[][] | undefined;
          chunks.forEach((c, k) => {
            expect(c.index).toBe(k);
            expect(c.offset).toBe(k * seqLen);
            if (dropLast) expect(c.length).toBe(seqLen);
            expect(c.inputs.shape).toEqual(timeFirst ? [c.length, batchSize] : [batchSize, c.length]);
            const x = rows(c.inputs, values(c.inputs), timeFirst);
            const y = rows(c.targets, values(c.targets), timeFirst);
            for (let b = 0; b < batchSize; b++) {
              const stream = Array.from(corpus.subarray(b * L, (b + 1) * L));
              expect(x[b]).toEqual(stream.slice(c.offset, c.offset + c.length));
              expect(y[b]).toEqual(stream.slice(c.offset + 1, c.offset + c.length + 1));
              // Continuity: this chunk's first input is the previous chunk's last target.
              if (prevTargets) expect(x[b]![0]).toBe(prevTargets[b]!.at(-1));
              seen[b]!.push(...x[b]!);
            }
            prevTargets = y;
          });
          // Without dropLast, the inputs cover each stream but its last token.
          if (!dropLast) {
            for (let b = 0; b < batchSize; b++) {
              expect(seen[b]).toEqual(Array.from(corpus.subarray(b * L, (b + 1) * L - 1)));
            }
          }
        },
      ),
    );
  });

  it('gives the same chunks from a token reader (no corpus in memory)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 8, max: 80 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 7 }),
        async (n, batchSize, seqLen) => {
          const corpus = range(n);
          const a = [...bpttChunks(batchify(corpus, batchSize), { seqLen })];
          const b: typeof a = [];
          for await (const c of bpttChunksFrom(arrayReader(corpus), { batchSize, seqLen })) b.push(c);
          expect(b.length).toBe(a.length);
          b.forEach((c, k) => {
            expect(values(c.inputs)).toEqual(values(a[k]!.inputs));
            expect(values(c.targets)).toEqual(values(a[k]!.targets));
            expect(c.inputs.shape).toEqual(a[k]!.inputs.shape);
          });
        },
      ),
      { numRuns: 40 },
    );
  });

  it('checks its options', async () => {
    expect(() => [...bpttChunks(batchify(range(10), 2), { seqLen: 0 })]).toThrow(
      /seqLen to be a positive integer/,
    );
    expect(() => [...bpttChunks(batchify(range(10), 2), { seqLen: 2, layout: 'x' as 'time-first' })]).toThrow(
      /layout 'batch-first' or 'time-first'/,
    );
    const short = { length: 10, read: () => new Int32Array(1) };
    await expect(async () => {
      for await (const _ of bpttChunksFrom(short, { batchSize: 2, seqLen: 3 })) {
      }
    }).rejects.toThrow(/expected 4 tokens from the reader at 0, found 1/);
    await expect(async () => {
      for await (const _ of bpttChunksFrom(arrayReader(range(3)), { batchSize: 2, seqLen: 3 })) {
      }
    }).rejects.toThrow(DataError);
  });
});

describe('encoding a corpus', () => {
  const text =
    'First Citizen:\r\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak. Ça va?\n';

  it('streams to the same indices as encoding the whole text, however the bytes are cut', async () => {
    const normalized = text.replaceAll('\r\n', '\n');
    const char = CharVocab.fromTexts([normalized], { specials: ['unk'] });
    const word = WordVocab.fromTexts([normalized], { lowercase: true });
    const bytes = new TextEncoder().encode(text);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat({ max: bytes.length }), { maxLength: 10 }), async (cuts) => {
        const pieces = cutBytes(bytes, cuts);
        expect(Array.from(await collectIndices(encodeStream(char, pieces)))).toEqual(
          Array.from(encodeCorpus(char, normalized)),
        );
        expect(Array.from(await collectIndices(encodeStream(word, pieces)))).toEqual(
          Array.from(encodeCorpus(word, normalized)),
        );
      }),
    );
    expect(char.decode(encodeCorpus(char, normalized))).toBe(normalized);
  });
});
