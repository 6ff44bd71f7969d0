import { describe, EmbeddingsError, UnknownWordError } from './errors.js';
import { type Scored, topK } from './topk.js';

/** A query term: a word of the vocabulary, or a raw vector of length `dim` (used as given, as gensim does). */
export type Key = string | Float32Array;

export interface MostSimilarOptions {
  positive?: Key | readonly Key[];
  negative?: Key | readonly Key[];
  /** Number of results (default 10). */
  topn?: number;
  /** Only search the first N words (the most frequent ones in word2vec order). */
  restrictVocab?: number;
}

/** `3CosMul`'s epsilon, as in gensim (Levy & Goldberg 2014 footnote 7). */
export const COSMUL_EPS = 1e-6;

/**
 * Word vectors: `words[i]` owns row `i` of the row-major `V × D` matrix `vectors`. Queries use a
 * lazily built, cached copy of the matrix with every row scaled to unit length (all-zero rows stay
 * zero and have similarity 0 with everything). Treat `vectors` as read-only once queries ran.
 */
export class KeyedVectors {
  readonly words: readonly string[];
  readonly vectors: Float32Array;
  readonly dim: number;
  private readonly index = new Map<string, number>();
  private normed: Float32Array | undefined;

  constructor(words: readonly string[], vectors: Float32Array, dim: number) {
    if (!Number.isSafeInteger(dim) || dim < 1) {
      throw new EmbeddingsError(describe('KeyedVectors', 'dim to be a positive integer', `${dim}`));
    }
    if (vectors.length !== words.length * dim) {
      throw new EmbeddingsError(
        describe(
          'KeyedVectors',
          `${words.length} × ${dim} = ${words.length * dim} values`,
          `${vectors.length}`,
          'Pass one row of dim values per word, row-major.',
        ),
      );
    }
    words.forEach((w, i) => {
      const prev = this.index.get(w);
      if (prev !== undefined) {
        throw new EmbeddingsError(
          describe('KeyedVectors', 'unique words', `${JSON.stringify(w)} at rows ${prev} and ${i}`),
        );
      }
      this.index.set(w, i);
    });
    this.words = words.slice();
    this.vectors = vectors;
    this.dim = dim;
  }

  get size(): number {
    return this.words.length;
  }

  /** The row of a word, or -1. */
  indexOf(word: string): number {
    return this.index.get(word) ?? -1;
  }

  has(word: string): boolean {
    return this.index.has(word);
  }

  /** A copy of a word's vector. */
  get(word: string): Float32Array {
    const i = this.require('KeyedVectors.get', [word])[0]!;
    return this.vectors.slice(i * this.dim, (i + 1) * this.dim);
  }

  /** A copy of a word's vector scaled to unit length. */
  getNormalized(word: string): Float32Array {
    const i = this.require('KeyedVectors.getNormalized', [word])[0]!;
    return this.normalized().slice(i * this.dim, (i + 1) * this.dim);
  }

  /** Cosine similarity of two words. */
  similarity(a: string, b: string): number {
    const [i, j] = this.require('KeyedVectors.similarity', [a, b]) as [number, number];
    const n = this.normalized();
    const d = this.dim;
    let s = 0;
    for (let k = 0; k < d; k++) s += n[i * d + k]! * n[j * d + k]!;
    return s;
  }

  /**
   * The words closest to `sum(positive) - sum(negative)` of unit vectors, renormalised (3CosAdd),
   * by cosine similarity, excluding the input words — gensim's `most_similar`.
   */
  mostSimilar(options: MostSimilarOptions): Scored[] {
    const where = 'KeyedVectors.mostSimilar';
    const { positive, negative, topn, limit } = this.parseQuery(where, options);
    if (positive.length + negative.length === 0) {
      throw new EmbeddingsError(describe(where, 'at least one positive or negative word', 'none'));
    }
    const mean = new Float64Array(this.dim);
    for (const [keys, w] of [
      [positive, 1],
      [negative, -1],
    ] as const) {
      for (const key of keys) {
        const v = this.termVector(key);
        for (let k = 0; k < this.dim; k++) mean[k]! += w * v[k]!;
      }
    }
    unitInPlace(mean);
    const scores = this.dots(mean, limit);
    return this.ranked(scores, topn, limit, [...positive, ...negative]);
  }

  /**
   * 3CosMul (Levy & Goldberg 2014), as gensim's `most_similar_cosmul`: with cosines shifted to
   * [0, 1] as `(1 + cos) / 2`, ranks words by `prod(pos) / (prod(neg) + 1e-6)`.
   */
  mostSimilarCosmul(options: MostSimilarOptions): Scored[] {
    const where = 'KeyedVectors.mostSimilarCosmul';
    const { positive, negative, topn, limit } = this.parseQuery(where, options);
    if (positive.length === 0) {
      throw new EmbeddingsError(describe(where, 'at least one positive word', 'none'));
    }
    const multiplyShifted = (into: Float64Array, key: Key): void => {
      const s = this.dots(this.termVector(key), limit);
      for (let i = 0; i < limit; i++) into[i] = into[i]! * ((1 + s[i]!) / 2);
    };
    const num = new Float64Array(limit).fill(1);
    const den = new Float64Array(limit).fill(1);
    for (const key of positive) multiplyShifted(num, key);
    for (const key of negative) multiplyShifted(den, key);
    for (let i = 0; i < limit; i++) num[i] = num[i]! / (den[i]! + COSMUL_EPS);
    return this.ranked(num, topn, limit, [...positive, ...negative]);
  }

  /** The word least similar to the mean of the others' unit vectors — gensim's `doesnt_match`. */
  doesntMatch(words: readonly string[]): string {
    const where = 'KeyedVectors.doesntMatch';
    if (words.length < 2) {
      throw new EmbeddingsError(describe(where, 'at least 2 words', `${words.length}`));
    }
    const rows = this.require(where, words);
    const n = this.normalized();
    const d = this.dim;
    const mean = new Float64Array(d);
    for (const r of rows) for (let k = 0; k < d; k++) mean[k]! += n[r * d + k]!;
    unitInPlace(mean);
    let worst = 0;
    let worstScore = Number.POSITIVE_INFINITY;
    rows.forEach((r, i) => {
      let s = 0;
      for (let k = 0; k < d; k++) s += n[r * d + k]! * mean[k]!;
      if (s < worstScore) {
        worstScore = s;
        worst = i;
      }
    });
    return words[worst]!;
  }

  /** The cached unit-length copy of `vectors` (computed on first use; do not modify). */
  normalized(): Float32Array {
    if (this.normed) return this.normed;
    const d = this.dim;
    const out = new Float32Array(this.vectors.length);
    for (let r = 0; r < this.size; r++) {
      let ss = 0;
      for (let k = 0; k < d; k++) ss += this.vectors[r * d + k]! ** 2;
      const inv = ss > 0 ? 1 / Math.sqrt(ss) : 0;
      for (let k = 0; k < d; k++) out[r * d + k] = this.vectors[r * d + k]! * inv;
    }
    this.normed = out;
    return out;
  }

  private require(where: string, words: readonly string[]): number[] {
    const rows = words.map((w) => this.index.get(w) ?? -1);
    const unknown = words.filter((_, i) => rows[i] === -1);
    if (unknown.length > 0) throw new UnknownWordError(where, [...new Set(unknown)], this.size);
    return rows;
  }

  private parseQuery(where: string, options: MostSimilarOptions) {
    const asList = (k: Key | readonly Key[] | undefined): Key[] =>
      k === undefined ? [] : typeof k === 'string' || k instanceof Float32Array ? [k] : [...k];
    const positive = asList(options.positive);
    const negative = asList(options.negative);
    const words = [...positive, ...negative].filter((k): k is string => typeof k === 'string');
    this.require(where, words);
    for (const k of [...positive, ...negative]) {
      if (typeof k !== 'string' && k.length !== this.dim) {
        throw new EmbeddingsError(describe(where, `raw vectors of length ${this.dim}`, `length ${k.length}`));
      }
    }
    const topn = options.topn ?? 10;
    if (!Number.isSafeInteger(topn) || topn < 0) {
      throw new EmbeddingsError(describe(where, 'topn to be an integer >= 0', `${topn}`));
    }
    const restrict = options.restrictVocab ?? this.size;
    if (!Number.isSafeInteger(restrict) || restrict < 1) {
      throw new EmbeddingsError(describe(where, 'restrictVocab to be a positive integer', `${restrict}`));
    }
    return { positive, negative, topn, limit: Math.min(restrict, this.size) };
  }

  private termVector(key: Key): ArrayLike<number> {
    if (typeof key !== 'string') return key;
    const i = this.index.get(key)!;
    return this.normalized().subarray(i * this.dim, (i + 1) * this.dim);
  }

  private dots(v: ArrayLike<number>, limit: number): Float64Array {
    const n = this.normalized();
    const d = this.dim;
    const out = new Float64Array(limit);
    for (let r = 0; r < limit; r++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += n[r * d + k]! * v[k]!;
      out[r] = s;
    }
    return out;
  }

  private ranked(scores: Float64Array, topn: number, limit: number, inputs: readonly Key[]): Scored[] {
    const exclude = new Set<number>();
    for (const k of inputs) if (typeof k === 'string') exclude.add(this.index.get(k)!);
    return topK(scores, topn, limit, exclude).map((i) => ({ word: this.words[i]!, similarity: scores[i]! }));
  }
}

function unitInPlace(v: Float64Array): void {
  let ss = 0;
  for (const x of v) ss += x * x;
  if (ss === 0) return;
  const inv = 1 / Math.sqrt(ss);
  for (let k = 0; k < v.length; k++) v[k] = v[k]! * inv;
}
