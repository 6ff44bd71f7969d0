import { Rng } from '@recur/tensor';
import { DataError, describe, nonNegativeInt, positiveInt, show } from './errors.js';

/** A seed, or a generator to draw from (e.g. one carried across epochs). */
export type Seed = number | Rng;

/** A generator from a seed; a generator passed in is used (and advanced) as it is. */
export function rngOf(seed: Seed, where = 'rng'): Rng {
  if (seed instanceof Rng) return seed;
  if (typeof seed !== 'number' || !Number.isFinite(seed)) {
    throw new DataError(describe(where, 'a seed that is a finite number or an Rng', show(seed)));
  }
  return new Rng(seed);
}

/** The numbers 0..n-1 in a seeded random order (Fisher–Yates). */
export function permutation(n: number, seed: Seed): number[] {
  nonNegativeInt('permutation', 'n', n);
  return rngOf(seed, 'permutation').shuffle(Array.from({ length: n }, (_, i) => i));
}

/** A shuffled copy of `items`; the same seed gives the same order. */
export function shuffle<T>(items: readonly T[], seed: Seed): T[] {
  return rngOf(seed, 'shuffle').shuffle(items.slice());
}

export interface BatchIndicesOptions {
  /** Shuffle before cutting into batches (omit for the original order). */
  readonly seed?: Seed;
  /** Leave out a last batch smaller than batchSize (default false). */
  readonly dropLast?: boolean;
}

/** Cuts 0..n-1 (shuffled if a seed is given) into batches of `batchSize` indices. */
export function batchIndices(n: number, batchSize: number, options: BatchIndicesOptions = {}): number[][] {
  nonNegativeInt('batchIndices', 'n', n);
  positiveInt('batchIndices', 'batchSize', batchSize);
  const order =
    options.seed === undefined ? Array.from({ length: n }, (_, i) => i) : permutation(n, options.seed);
  return chunk(order, batchSize, options.dropLast ?? false);
}

function chunk(order: readonly number[], size: number, dropLast: boolean): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < order.length; i += size) {
    const b = order.slice(i, i + size);
    if (b.length < size && dropLast) break;
    out.push(b);
  }
  return out;
}

export interface BucketOptions {
  readonly batchSize: number;
  readonly seed: Seed;
  /** Batches per pool sorted by length (default 50; `Infinity` sorts everything, least padding, least randomness). */
  readonly batchesPerPool?: number;
  /** Leave out batches smaller than batchSize (default false). */
  readonly dropLast?: boolean;
}

/**
 * Batches of similar lengths, so padding wastes little work: the indices are shuffled, cut into
 * pools of `batchesPerPool` batches, each pool is sorted by length and cut into batches, and the
 * batches are shuffled. Every index appears in exactly one batch; the same seed gives the same
 * batches.
 *
 * @param lengths the length of each example (e.g. its number of tokens)
 * @returns batches of example indices
 */
export function bucketByLength(lengths: ArrayLike<number>, options: BucketOptions): number[][] {
  const where = 'bucketByLength';
  const batchSize = positiveInt(where, 'batchSize', options.batchSize);
  const pool = options.batchesPerPool ?? 50;
  if (pool !== Number.POSITIVE_INFINITY) positiveInt(where, 'batchesPerPool', pool);
  for (let i = 0; i < lengths.length; i++) {
    const l = lengths[i]!;
    if (!Number.isFinite(l))
      throw new DataError(describe(where, 'finite lengths', `${show(l)} at index ${i}`));
  }
  const rng = rngOf(options.seed, where);
  const order = rng.shuffle(Array.from({ length: lengths.length }, (_, i) => i));
  const poolLength = pool === Number.POSITIVE_INFINITY ? order.length : pool * batchSize;
  const batches: number[][] = [];
  for (let start = 0; start < order.length; start += poolLength) {
    // Array.prototype.sort is stable, so ties keep the shuffled order.
    const sorted = order.slice(start, start + poolLength).sort((a, b) => lengths[a]! - lengths[b]!);
    batches.push(...chunk(sorted, batchSize, false));
  }
  return rng.shuffle(batches.filter((b) => !(options.dropLast && b.length < batchSize)));
}
