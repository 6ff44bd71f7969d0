import { EmbeddingsFormatError } from './errors.js';
import {
  checkWritable,
  decoder,
  NL,
  parseHeader,
  type ReadOptions,
  readLimit,
  SPACE,
  utf8,
} from './format-common.js';
import { KeyedVectors } from './keyed-vectors.js';

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const MAX_HEADER = 64;

/**
 * Parses the C tool's binary format: a `"V D\n"` header, then per word `word`, a space, `D`
 * little-endian float32 and a `"\n"`. As in word2vec's `distance.c` and gensim, newlines before a
 * word are skipped, so files written without the newline after each vector read the same.
 */
export function parseWord2VecBinary(bytes: Uint8Array, options: ReadOptions = {}): KeyedVectors {
  const nl = bytes.subarray(0, MAX_HEADER).indexOf(NL);
  const headerEnd = nl < 0 ? Math.min(bytes.length, MAX_HEADER) : nl;
  const { words: declared, dim } = parseHeader(
    new TextDecoder('latin1').decode(bytes.subarray(0, headerEnd)),
  );
  if (nl < 0) {
    throw new EmbeddingsFormatError(
      `expected a newline ending the header within the first ${MAX_HEADER} bytes, found ${headerEnd === bytes.length ? 'end of file' : 'none'}`,
      { line: 1, offset: headerEnd },
    );
  }
  const count = readLimit(declared, options.limit);
  let pos = nl + 1;
  const rowBytes = 4 * dim;
  const minBytes = count * (rowBytes + 2);
  if (minBytes > bytes.length - pos) {
    throw new EmbeddingsFormatError(
      `the header declares ${declared} words of dimension ${dim}, which needs at least ${minBytes} bytes ` +
        `after the header, but the file has ${bytes.length - pos}. The file is truncated or not in binary format.`,
      { line: 1, offset: 0 },
    );
  }
  const dec = decoder(options.unicodeErrors);
  const words: string[] = [];
  const seen = new Map<string, number>();
  const vectors = new Float32Array(count * dim);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let w = 0; w < count; w++) {
    while (bytes[pos] === NL) pos++;
    const start = pos;
    const space = bytes.indexOf(SPACE, pos);
    const newline = bytes.subarray(pos, space < 0 ? bytes.length : space).indexOf(NL);
    if (space < 0 || newline >= 0) {
      throw new EmbeddingsFormatError(
        `expected word ${w + 1} of ${declared} followed by a space, found ${space < 0 ? 'end of file' : 'a line break inside the word'}. ` +
          'The file is truncated, or it is in text format.',
        { offset: start },
      );
    }
    if (space === start) {
      throw new EmbeddingsFormatError(`expected word ${w + 1} of ${declared}, found an empty word`, {
        offset: start,
      });
    }
    let word: string;
    try {
      word = dec.decode(bytes.subarray(start, space));
    } catch {
      throw new EmbeddingsFormatError(
        `expected a UTF-8 word, found invalid bytes in word ${w + 1}. Pass { unicodeErrors: 'replace' } to read it anyway.`,
        { offset: start },
      );
    }
    const prev = seen.get(word);
    if (prev !== undefined) {
      throw new EmbeddingsFormatError(
        `expected unique words, found ${JSON.stringify(word)} again (first at byte offset ${prev})`,
        { offset: start },
      );
    }
    seen.set(word, start);
    pos = space + 1;
    if (pos + rowBytes > bytes.length) {
      throw new EmbeddingsFormatError(
        `expected ${dim} float32 values (${rowBytes} bytes) for ${JSON.stringify(word)}, found only ` +
          `${bytes.length - pos} bytes before end of file. The file is truncated.`,
        { offset: pos },
      );
    }
    if (LITTLE_ENDIAN) {
      new Uint8Array(vectors.buffer, w * rowBytes, rowBytes).set(bytes.subarray(pos, pos + rowBytes));
    } else {
      for (let k = 0; k < dim; k++) vectors[w * dim + k] = view.getFloat32(pos + 4 * k, true);
    }
    pos += rowBytes;
    words.push(word);
  }
  if (count === declared) {
    while (bytes[pos] === NL) pos++;
    if (pos < bytes.length) {
      throw new EmbeddingsFormatError(
        `expected end of file after the ${declared} words the header declares, found ${bytes.length - pos} more bytes. ` +
          "The header's word count is wrong or the file is not in binary format.",
        { offset: pos },
      );
    }
  }
  return new KeyedVectors(words, vectors, dim);
}

/** The C tool's binary format in chunks of about `chunkBytes`, byte for byte as word2vec.c writes it. */
export function* word2VecBinaryChunks(kv: KeyedVectors, chunkBytes = 1 << 20): Generator<Uint8Array> {
  checkWritable('writeWord2Vec', kv);
  yield utf8.encode(`${kv.size} ${kv.dim}\n`);
  const d = kv.dim;
  let chunk: Uint8Array[] = [];
  let size = 0;
  for (let r = 0; r < kv.size; r++) {
    const word = utf8.encode(`${kv.words[r]!} `);
    const row = new Uint8Array(4 * d + 1);
    const view = new DataView(row.buffer);
    for (let k = 0; k < d; k++) view.setFloat32(4 * k, kv.vectors[r * d + k]!, true);
    row[4 * d] = NL;
    chunk.push(word, row);
    size += word.length + row.length;
    if (size >= chunkBytes) {
      yield* chunk;
      chunk = [];
      size = 0;
    }
  }
  yield* chunk;
}
