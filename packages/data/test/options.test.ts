import { describe, expect, it } from 'vitest';
import {
  batchify,
  bpttChunkCount,
  chronologicalSplit,
  DataError,
  randomSplit,
  readCsvColumn,
  readPairs,
  rngOf,
  slidingWindows,
  Vocab,
  windowBatch,
} from '../src/index.js';
import { vocabFromFile } from '../src/node.js';
import { caught, caughtAsync } from './helpers.js';

// Option checks not covered beside the features they guard: each must say what it expected.
describe('option checks', () => {
  it('explain every bad option', async () => {
    const cases: [() => unknown, RegExp][] = [
      [() => rngOf('1' as unknown as number), /a seed that is a finite number or an Rng, found "1"/],
      [() => randomSplit('abc' as unknown as string[]), /an array of items, found "abc"/],
      [() => chronologicalSplit([1, 2, 3], { test: 1 }), /test to be a fraction in \[0, 1\), found 1/],
      [() => bpttChunkCount(10, 0), /seqLen to be a positive integer, found 0/],
      [() => batchify([1, 2, 3, 4], 1.5), /batchSize to be a positive integer, found 1.5/],
      [
        () => slidingWindows([1, 2, 3], { window: 1, horizon: 0 }),
        /horizon to be a positive integer, found 0/,
      ],
      [
        () => windowBatch(slidingWindows([1, 2, 3], { window: 1 }), [0], { layout: 'x' as 'time-first' }),
        /layout 'batch-first' or 'time-first', found "x"/,
      ],
      [
        () => new Vocab({ level: 'byte' as 'char', text: {} as never, specials: {}, tokens: [], counts: [] }),
        /level 'char' or 'word', found "byte"/,
      ],
      [
        () => Vocab.fromCounts('char', new Map([['a', 1]]), { specials: 'pad' as unknown as [] }),
        /specials to be an array of special-token names, found "pad"/,
      ],
    ];
    for (const [fn, pattern] of cases) {
      const e = caught(fn);
      expect(e).toBeInstanceOf(DataError);
      expect(e.message).toMatch(pattern);
    }
    const asyncCases: [() => Promise<unknown>, RegExp][] = [
      [() => readCsvColumn(['1'], { delimiter: '"' }), /a non-empty delimiter without quotes, found "\\""/],
      [() => readCsvColumn(['1'], { column: -1 }), /column to be a non-negative integer, found -1/],
      [
        () => readCsvColumn(['1'], { column: true as unknown as number }),
        /a column index or header name, found true/,
      ],
      [
        () => readPairs(['a\tb'], { columns: [0, -1] }),
        /the target column to be a non-negative integer, found -1/,
      ],
      [
        () => vocabFromFile('x', { level: 'byte' as 'char' }),
        /vocabFromFile: expected level 'char' or 'word', found "byte"/,
      ],
    ];
    for (const [fn, pattern] of asyncCases) {
      const e = await caughtAsync(fn);
      expect(e).toBeInstanceOf(DataError);
      expect(e.message).toMatch(pattern);
    }
  });
});
