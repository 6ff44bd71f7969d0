import { parseWord2VecBinary, word2VecBinaryChunks } from './format-binary.js';
import { concatBytes, type ReadOptions } from './format-common.js';
import { parseWord2VecText, word2VecTextChunks } from './format-text.js';
import type { KeyedVectors } from './keyed-vectors.js';

export { formatFloatC, type ReadOptions, type UnicodeErrors } from './format-common.js';
export { parseWord2VecBinary, parseWord2VecText, word2VecBinaryChunks, word2VecTextChunks };

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
