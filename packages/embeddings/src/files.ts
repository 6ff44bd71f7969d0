import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from './atomic.js';
import { describe, EmbeddingsError, EmbeddingsFormatError } from './errors.js';
import { type AnalogySection, parseAnalogies, parseWordPairs, type WordPair } from './evaluate.js';
import {
  type FormatOptions,
  parseWord2Vec,
  type ReadOptions,
  word2VecBinaryChunks,
  word2VecTextChunks,
} from './formats.js';
import type { KeyedVectors } from './keyed-vectors.js';
import { Vocab, type VocabOptions } from './vocab.js';

/** Reads a word2vec file (text by default, `{ binary: true }` for the binary format). */
export async function readWord2Vec(
  path: string,
  options: FormatOptions & ReadOptions = {},
): Promise<KeyedVectors> {
  return parseWord2Vec(await readFileOrThrow('readWord2Vec', path), options);
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

/**
 * Streams a UTF-8 corpus file and counts its tokens (see `Vocab.fromChunks`). Memory holds the
 * counts and one chunk, never the corpus.
 */
export async function vocabFromFile(path: string, options: VocabOptions = {}): Promise<Vocab> {
  try {
    return await Vocab.fromChunks(createReadStream(path, { encoding: 'utf8' }), options);
  } catch (err) {
    if (err instanceof EmbeddingsError) throw err;
    const reason = err instanceof Error ? err.message : String(err);
    throw new EmbeddingsError(
      describe('vocabFromFile', `a readable corpus file at ${JSON.stringify(path)}`, reason),
      { cause: err },
    );
  }
}

/** Reads a whole file, turning I/O errors into an `EmbeddingsError` that names the path. */
export async function readFileOrThrow(where: string, path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new EmbeddingsError(describe(where, `a readable file at ${JSON.stringify(path)}`, reason), {
      cause: err,
    });
  }
}

/** Reads an analogy file (`questions-words.txt` format); see `parseAnalogies`. */
export async function readAnalogies(path: string): Promise<AnalogySection[]> {
  const bytes = await readFileOrThrow('readAnalogies', path);
  return withPath(path, () => parseAnalogies(decodeUtf8(bytes)));
}

/** Reads a word-pair similarity file (`wordsim353.tsv`, `simlex999.txt`); see `parseWordPairs`. */
export async function readWordPairs(path: string, options: { delimiter?: string } = {}): Promise<WordPair[]> {
  const bytes = await readFileOrThrow('readWordPairs', path);
  return withPath(path, () => parseWordPairs(decodeUtf8(bytes), options));
}

function decodeUtf8(bytes: Uint8Array): string {
  return new TextDecoder('utf-8').decode(bytes);
}

/** Runs `fn`, prefixing format errors with the file's path. */
function withPath<T>(path: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof EmbeddingsFormatError) {
      const e = new EmbeddingsFormatError(`${path}: ${err.message}`);
      Object.assign(e, { line: err.line, offset: err.offset });
      throw e;
    }
    throw err;
  }
}
