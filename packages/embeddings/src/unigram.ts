import type { Rng } from '@recur/tensor';
import { describe, EmbeddingsError } from './errors.js';

/** word2vec.c's `table_size`. At 4 bytes a slot the default table takes 400 MB; pass a smaller size for small vocabularies. */
export const DEFAULT_TABLE_SIZE = 1e8;

export interface UnigramOptions {
  /** Number of slots (default 1e8, as word2vec.c). */
  tableSize?: number;
  /** Exponent applied to counts (default 0.75). */
  power?: number;
  /** Allocate the table on a `SharedArrayBuffer`, so worker threads can read it without a copy. */
  shared?: boolean;
}

/**
 * The negative-sampling table of word2vec.c's `InitUnigramTable`: word `i` fills a share of the
 * slots proportional to `count[i] ** power`, in vocabulary order, so a uniform slot is a draw from
 * the smoothed unigram distribution. The fill follows the C loop exactly, including its rounding
 * (a word's last slot is written before the boundary test, so it may get one slot more than its share).
 */
export class UnigramTable {
  readonly table: Int32Array;

  constructor(counts: ArrayLike<number>, options: UnigramOptions = {}) {
    const size = options.tableSize ?? DEFAULT_TABLE_SIZE;
    const power = options.power ?? 0.75;
    const v = counts.length;
    if (!Number.isSafeInteger(size) || size < 1) {
      throw new EmbeddingsError(describe('UnigramTable', 'tableSize to be a positive integer', `${size}`));
    }
    if (!Number.isFinite(power)) {
      throw new EmbeddingsError(describe('UnigramTable', 'a finite power', `${power}`));
    }
    if (v < 1) throw new EmbeddingsError(describe('UnigramTable', 'at least 1 word', '0 words'));
    const weights = new Float64Array(v);
    let total = 0;
    for (let a = 0; a < v; a++) {
      const c = counts[a]!;
      if (!Number.isFinite(c) || c < 0) {
        throw new EmbeddingsError(describe('UnigramTable', 'finite counts >= 0', `${c} at index ${a}`));
      }
      weights[a] = c ** power;
      total += weights[a]!;
    }
    if (!(total > 0) || !Number.isFinite(total)) {
      throw new EmbeddingsError(
        describe('UnigramTable', 'counts with a positive finite sum of count^power', `${total}`),
      );
    }
    const table = options.shared ? new Int32Array(new SharedArrayBuffer(size * 4)) : new Int32Array(size);
    let i = 0;
    let d1 = weights[0]! / total;
    for (let a = 0; a < size; a++) {
      table[a] = i;
      if (a / size > d1) {
        i++;
        if (i < v) d1 += weights[i]! / total;
      }
      if (i >= v) i = v - 1;
    }
    this.table = table;
  }

  get size(): number {
    return this.table.length;
  }

  /** One word index drawn from the table with a uniform slot. */
  sample(rng: Rng): number {
    return this.table[rng.int(this.table.length)]!;
  }

  /** Fills `out` with draws (one `rng` call each) and returns it. */
  sampleInto(out: Int32Array, rng: Rng): Int32Array {
    const t = this.table;
    for (let k = 0; k < out.length; k++) out[k] = t[rng.int(t.length)]!;
    return out;
  }
}
