import { KeyedVectors } from '../src/keyed-vectors.js';

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

export function kv(rows: Record<string, number[]>): KeyedVectors {
  const words = Object.keys(rows);
  const dim = rows[words[0]!]!.length;
  return new KeyedVectors(words, Float32Array.from(words.flatMap((w) => rows[w]!)), dim);
}

/** Catches the error `fn` throws (failing if it does not). */
export function caught(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    if (e instanceof Error) return e;
    throw new Error(`threw a non-Error: ${String(e)}`);
  }
  throw new Error('expected a throw, found none');
}
