import { describe, EmbeddingsError } from './errors.js';
import { EOS, Tokenizer } from './tokenizer.js';

export interface VocabOptions {
  /** Words seen fewer times are dropped (word2vec.c's `-min-count`, default 5). `</s>` is always kept. */
  minCount?: number;
}

/**
 * A word vocabulary in word2vec.c's order: `</s>` first (whatever its count), then the words by
 * descending count, ties broken by word (JavaScript string order) so the order is deterministic.
 */
export class Vocab {
  readonly words: readonly string[];
  readonly counts: readonly number[];
  /** Sum of all counts (word2vec.c's `train_words`). */
  readonly totalCount: number;
  private readonly index: Map<string, number>;

  /**
   * Wraps words and counts as given (no sorting, no pruning); use the static builders for that.
   * Words must be unique and counts non-negative integers.
   */
  constructor(words: readonly string[], counts: readonly number[]) {
    if (words.length !== counts.length) {
      throw new EmbeddingsError(
        describe('Vocab', 'one count per word', `${words.length} words and ${counts.length} counts`),
      );
    }
    const index = new Map<string, number>();
    let total = 0;
    for (let i = 0; i < words.length; i++) {
      const w = words[i]!;
      const c = counts[i]!;
      if (index.has(w)) {
        throw new EmbeddingsError(
          describe('Vocab', 'unique words', `${JSON.stringify(w)} at ${index.get(w)} and ${i}`),
        );
      }
      if (!Number.isSafeInteger(c) || c < 0) {
        throw new EmbeddingsError(
          describe('Vocab', 'counts that are non-negative integers', `${c} for ${JSON.stringify(w)}`),
        );
      }
      index.set(w, i);
      total += c;
    }
    this.words = words.slice();
    this.counts = counts.slice();
    this.totalCount = total;
    this.index = index;
  }

  get size(): number {
    return this.words.length;
  }

  /** The index of a word, or -1 if it is not in the vocabulary. */
  indexOf(word: string): number {
    return this.index.get(word) ?? -1;
  }

  has(word: string): boolean {
    return this.index.has(word);
  }

  /** The count of a word (0 if it is not in the vocabulary). */
  count(word: string): number {
    const i = this.index.get(word);
    return i === undefined ? 0 : this.counts[i]!;
  }

  /** Sorts and prunes raw counts as word2vec.c's `SortVocab` does. */
  static fromCounts(counts: ReadonlyMap<string, number>, options: VocabOptions = {}): Vocab {
    const minCount = checkMinCount(options.minCount ?? 5);
    const kept: [string, number][] = [];
    for (const [w, c] of counts) if (w !== EOS && c >= minCount) kept.push([w, c]);
    kept.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return new Vocab([EOS, ...kept.map((e) => e[0])], [counts.get(EOS) ?? 0, ...kept.map((e) => e[1])]);
  }

  /** Counts already-split tokens (a token `'</s>'` counts as a newline). */
  static fromTokens(tokens: Iterable<string>, options: VocabOptions = {}): Vocab {
    const counts = new Map<string, number>();
    for (const t of tokens) counts.set(t, (counts.get(t) ?? 0) + 1);
    return Vocab.fromCounts(counts, options);
  }

  /** Tokenises text as word2vec.c does (see `Tokenizer`) and counts it. */
  static fromText(text: string, options: VocabOptions = {}): Vocab {
    const counts = new Map<string, number>();
    const t = new Tokenizer((tok) => counts.set(tok, (counts.get(tok) ?? 0) + 1));
    t.push(text);
    t.end();
    return Vocab.fromCounts(counts, options);
  }

  /**
   * Counts the tokens of text that arrives in chunks (strings, e.g. a decoded stream), keeping only
   * the counts and the unfinished last token in memory, never the whole text. Unlike word2vec.c, a
   * last word with no newline after it is counted. In Node, `vocabFromFile` from
   * `@recur/embeddings/node` streams a file through this.
   */
  static async fromChunks(
    chunks: Iterable<string> | AsyncIterable<string>,
    options: VocabOptions = {},
  ): Promise<Vocab> {
    checkMinCount(options.minCount ?? 5);
    const counts = new Map<string, number>();
    const t = new Tokenizer((tok) => counts.set(tok, (counts.get(tok) ?? 0) + 1));
    for await (const chunk of chunks) t.push(chunk);
    t.end();
    return Vocab.fromCounts(counts, options);
  }
}

function checkMinCount(minCount: number): number {
  if (!Number.isFinite(minCount) || minCount < 0) {
    throw new EmbeddingsError(
      describe('Vocab', 'minCount to be a finite number >= 0', String(minCount), 'Use e.g. { minCount: 5 }.'),
    );
  }
  return minCount;
}
