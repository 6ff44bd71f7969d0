import { describe, EmbeddingsError, EmbeddingsFormatError } from './errors.js';
import type { KeyedVectors } from './keyed-vectors.js';

export const NL = 10;
export const SPACE = 32;

/** What to do with bytes that are not valid UTF-8 in a word (C-tool files can cut a character in two). */
export type UnicodeErrors = 'strict' | 'replace';

export interface ReadOptions {
  /** Read only the first `limit` words (gensim's `limit`). */
  limit?: number;
  /** `'strict'` (default) throws on invalid UTF-8; `'replace'` substitutes U+FFFD. */
  unicodeErrors?: UnicodeErrors;
}

export const utf8 = new TextEncoder();

export function decoder(mode: UnicodeErrors = 'strict'): TextDecoder {
  return new TextDecoder('utf-8', { fatal: mode === 'strict' });
}

/** Parses the `"V D"` header line (without its newline) of both formats. */
export function parseHeader(line: string): { words: number; dim: number } {
  const m = /^[ \t]*(\d+)[ \t]+(\d+)[ \t\r]*$/.exec(line);
  const words = m ? Number(m[1]) : Number.NaN;
  const dim = m ? Number(m[2]) : Number.NaN;
  if (!m || !Number.isSafeInteger(words) || !Number.isSafeInteger(dim) || dim < 1) {
    const shown = line.length > 40 ? `${line.slice(0, 40)}…` : line;
    throw new EmbeddingsFormatError(
      `expected a header "<word count> <dimension>" (e.g. "71291 200", dimension >= 1), found ${JSON.stringify(shown)}. ` +
        'Is this a word2vec file?',
      { line: 1, offset: 0 },
    );
  }
  return { words, dim };
}

export function readLimit(declared: number, limit: number | undefined): number {
  if (limit === undefined) return declared;
  if (!Number.isSafeInteger(limit) || limit < 0) {
    throw new EmbeddingsError(describe('readWord2Vec', 'limit to be an integer >= 0', `${limit}`));
  }
  return Math.min(limit, declared);
}

/** Refuses words and values that would make a file that cannot be read back. */
export function checkWritable(where: string, kv: KeyedVectors): void {
  kv.words.forEach((w, i) => {
    if (w === '' || /[ \t\n\r]/.test(w)) {
      throw new EmbeddingsError(
        describe(where, 'words without spaces, tabs or line breaks', `${JSON.stringify(w)} (row ${i})`),
      );
    }
  });
  const v = kv.vectors;
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i]!)) {
      const row = Math.floor(i / kv.dim);
      throw new EmbeddingsError(
        describe(
          where,
          'finite values',
          `${v[i]} in ${JSON.stringify(kv.words[row])} at dimension ${i % kv.dim}`,
          'The model probably diverged; lower the learning rate.',
        ),
      );
    }
  }
}

/**
 * C's `printf("%lf", x)` for a float32 value `x`: six decimals, the exact binary value rounded
 * half-to-even as glibc does (JavaScript's `toFixed` rounds exact ties up), `-` kept on negative zero.
 */
export function formatFloatC(x: number): string {
  const neg = x < 0 || Object.is(x, -0);
  const a = Math.abs(x);
  let s: string;
  if (a >= 1e21) {
    s = `${BigInt(a)}.000000`;
  } else {
    const y = a * 2e6; // exact for float32 inputs: 24-bit mantissa times a 14-bit odd factor
    if (Number.isInteger(y) && y % 2 === 1) {
      const lo = (y - 1) / 2;
      const n = lo % 2 === 0 ? lo : lo + 1;
      s = `${Math.floor(n / 1e6)}.${String(n % 1e6).padStart(6, '0')}`;
    } else {
      s = a.toFixed(6);
    }
  }
  return neg ? `-${s}` : s;
}

/** Concatenates byte chunks. */
export function concatBytes(chunks: Iterable<Uint8Array>): Uint8Array {
  const list = [...chunks];
  const out = new Uint8Array(list.reduce((n, c) => n + c.length, 0));
  let off = 0;
  for (const c of list) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}
