import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from './atomic.js';
import { describe, EmbeddingsError } from './errors.js';
import { parseWord2VecBinary, word2VecBinaryChunks } from './format-binary.js';
import { concatBytes, type ReadOptions } from './format-common.js';
import { parseWord2VecText, word2VecTextChunks } from './format-text.js';
import type { KeyedVectors } from './keyed-vectors.js';

export { formatFloatC, type ReadOptions, type UnicodeErrors } from './format-common.js';
export { parseWord2VecBinary, parseWord2VecText };

export interface FormatOptions {
  /** The binary format (word2vec.c `-binary 1`); default false, the text format. */
  binary?: boolean;
}

/** Encodes vectors in the C tool's text or binary format, byte for byte as word2vec.c writes them. */
export function encodeWord2Vec(kv: KeyedVectors, options: FormatOptions = {}): Uint8Array {
  return concatBytes(options.binary ? word2VecBinaryChunks(kv) : word2VecTextChunks(kv));
}

/** Parses bytes in the C tool's text or binary format. */
export function parseWord2Vec(bytes: Uint8Array, options: FormatOptions & ReadOptions = {}): KeyedVectors {
  return options.binary ? parseWord2VecBinary(bytes, options) : parseWord2VecText(bytes, options);
}

/** Reads a word2vec file (text by default, `{ binary: true }` for the binary format). */
export async function readWord2Vec(
  path: string,
  options: FormatOptions & ReadOptions = {},
): Promise<KeyedVectors> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new EmbeddingsError(
      describe('readWord2Vec', `a readable file at ${JSON.stringify(path)}`, reason),
      {
        cause: err,
      },
    );
  }
  return parseWord2Vec(bytes, options);
}

/**
 * Writes a word2vec file atomically (temporary file + rename), in chunks so the whole encoding is
 * never held in memory. Words with whitespace and non-finite values are refused before anything is written.
 */
export async function writeWord2Vec(
  path: string,
  kv: KeyedVectors,
  options: FormatOptions = {},
): Promise<void> {
  const chunks = options.binary ? word2VecBinaryChunks(kv) : word2VecTextChunks(kv);
  // Run the generator's validation before creating any file.
  const first = chunks.next();
  await writeFileAtomic(path, prepend(first, chunks));
}

function* prepend(first: IteratorResult<Uint8Array>, rest: Iterator<Uint8Array>): Generator<Uint8Array> {
  for (let r = first; !r.done; r = rest.next()) yield r.value;
}
