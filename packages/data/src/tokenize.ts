/** Splits text into tokens; `join` puts tokens back together (exactly, for characters). */
export interface Tokenizer {
  readonly level: 'char' | 'word';
  tokenize(text: string): string[];
  join(tokens: readonly string[]): string;
}

/** Splits text into Unicode code points (so a surrogate pair such as an emoji is one token). */
export function charTokens(text: string): string[] {
  return Array.from(text);
}

// A word: letters, digits and combining marks, with inner apostrophes or hyphens ("don't",
// "l'homme", "well-known"); a number with inner separators ("3.14", "1,000"); or any other single
// non-space character (punctuation, symbols) as its own token.
const WORD =
  /[\p{L}\p{N}\p{M}]+(?:(?:['\u2019-]|(?<=\p{N})[.,](?=\p{N}))[\p{L}\p{N}\p{M}]+)*|[^\s\p{L}\p{N}\p{M}]/gu;

/**
 * Splits text into words and punctuation: runs of letters and digits (keeping inner apostrophes
 * and hyphens, so "don't" and "aujourd'hui" stay whole) and every other non-space character on its
 * own; a number keeps its inner decimal point or comma ("3.14", "1,000"). Whitespace separates
 * tokens and is dropped.
 *
 * @example wordTokens("Go, now!") → ['Go', ',', 'now', '!']
 */
export function wordTokens(text: string): string[] {
  return text.match(WORD) ?? [];
}

const NO_SPACE_BEFORE = /^[.,;:!?%)\]}'\u2019]$/u;
const NO_SPACE_AFTER = /^[([{¿¡]$/u;

/** Joins word tokens with single spaces, but no space before closing punctuation or after opening brackets. */
export function joinWords(tokens: readonly string[]): string {
  let out = '';
  let glue = false;
  for (const t of tokens) {
    if (out !== '' && !glue && !NO_SPACE_BEFORE.test(t)) out += ' ';
    out += t;
    glue = NO_SPACE_AFTER.test(t);
  }
  return out;
}

/** Characters as tokens; joining is exact. */
export const charTokenizer: Tokenizer = {
  level: 'char',
  tokenize: charTokens,
  join: (tokens) => tokens.join(''),
};

/** Words and punctuation as tokens (see {@link wordTokens}); joining restores readable spacing. */
export const wordTokenizer: Tokenizer = {
  level: 'word',
  tokenize: wordTokens,
  join: joinWords,
};
