import { RecurError } from '@recur/tensor';

/** Any misuse or bad input detected by `@recur/embeddings`. */
export class EmbeddingsError extends RecurError {
  override name = 'EmbeddingsError';
}

/** Where in a file a format problem was found: a 1-based line (text) or a 0-based byte offset. */
export interface FormatLocation {
  readonly line?: number;
  readonly offset?: number;
}

/**
 * A malformed word2vec file: bad header, short or long vector, non-numeric value, invalid UTF-8,
 * truncated binary data. `line` (1-based) and/or `offset` (0-based byte) say where.
 */
export class EmbeddingsFormatError extends EmbeddingsError {
  override name = 'EmbeddingsFormatError';
  readonly line: number | undefined;
  readonly offset: number | undefined;

  constructor(message: string, where: FormatLocation = {}) {
    const at = [
      where.line === undefined ? '' : `line ${where.line}`,
      where.offset === undefined ? '' : `byte offset ${where.offset}`,
    ]
      .filter((s) => s !== '')
      .join(', ');
    super(at === '' ? message : `${at}: ${message}`);
    this.line = where.line;
    this.offset = where.offset;
  }
}

/** One or more words that are not in the vocabulary of a `KeyedVectors` or `Vocab`. */
export class UnknownWordError extends EmbeddingsError {
  override name = 'UnknownWordError';
  readonly words: readonly string[];

  constructor(where: string, words: readonly string[], vocabSize: number) {
    const list = words.map((w) => JSON.stringify(w)).join(', ');
    super(
      `${where}: expected words of the vocabulary (${vocabSize} words), found unknown ` +
        `word${words.length === 1 ? '' : 's'} ${list}. Check tokenisation and case, or test with has() first.`,
    );
    this.words = words;
  }
}

/** The standard three-part message: what was expected, what was found, how to fix it. */
export function describe(where: string, expected: string, found: string, fix?: string): string {
  return `${where}: expected ${expected}, found ${found}.${fix ? ` ${fix}` : ''}`;
}
