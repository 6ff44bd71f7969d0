import { EmbeddingsFormatError } from './errors.js';
import {
  checkWritable,
  decoder,
  formatFloatC,
  NL,
  parseHeader,
  type ReadOptions,
  readLimit,
  utf8,
} from './format-common.js';
import { KeyedVectors } from './keyed-vectors.js';

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const NON_FINITE = /^[+-]?(?:nan|inf|infinity)$/i;

/**
 * Parses the C tool's text format: a `"V D"` line, then per word `word v1 … vD` (word2vec.c writes
 * a space after every value; any trailing spaces, tabs or CR are accepted). Values are read as
 * float32; `nan`/`inf` (as glibc prints them) are accepted, numbers beyond float32 range are not.
 */
export function parseWord2VecText(bytes: Uint8Array, options: ReadOptions = {}): KeyedVectors {
  const dec = decoder(options.unicodeErrors);
  let pos = 0;
  let lineNo = 0;
  const nextLine = (): { text: string; offset: number } | undefined => {
    if (pos >= bytes.length) return undefined;
    const start = pos;
    let end = bytes.indexOf(NL, pos);
    if (end < 0) end = bytes.length;
    pos = end + 1;
    lineNo++;
    try {
      return { text: dec.decode(bytes.subarray(start, end)), offset: start };
    } catch {
      throw new EmbeddingsFormatError('expected UTF-8 text, found invalid UTF-8 bytes', {
        line: lineNo,
        offset: start,
      });
    }
  };
  const header = nextLine();
  const { words: declared, dim } = parseHeader(header?.text ?? '');
  const count = readLimit(declared, options.limit);
  if (count * dim * 2 > bytes.length) {
    throw new EmbeddingsFormatError(
      `the header declares ${declared} words of dimension ${dim}, which needs at least ${count * dim * 2} bytes ` +
        `of text, but the file has ${bytes.length} bytes. The file is truncated or the header is wrong.`,
      { line: 1, offset: 0 },
    );
  }
  const words: string[] = [];
  const seen = new Map<string, number>();
  const vectors = new Float32Array(count * dim);
  for (let w = 0; w < count; w++) {
    const line = nextLine();
    if (line === undefined) {
      throw new EmbeddingsFormatError(
        `expected ${declared} word lines after the header, found only ${w}. The file is truncated.`,
        { line: lineNo + 1, offset: bytes.length },
      );
    }
    const at = { line: lineNo, offset: line.offset };
    const fields = line.text.replace(/[ \t\r]+$/, '').split(/[ \t]+/);
    const word = fields[0]!;
    if (word === '') {
      throw new EmbeddingsFormatError(`expected "word v1 … v${dim}", found ${JSON.stringify(line.text)}`, at);
    }
    if (fields.length !== dim + 1) {
      throw new EmbeddingsFormatError(
        `expected ${dim} values after ${JSON.stringify(word)}, found ${fields.length - 1}`,
        at,
      );
    }
    const prev = seen.get(word);
    if (prev !== undefined) {
      throw new EmbeddingsFormatError(
        `expected unique words, found ${JSON.stringify(word)} again (first on line ${prev})`,
        at,
      );
    }
    seen.set(word, lineNo);
    words.push(word);
    for (let k = 0; k < dim; k++) vectors[w * dim + k] = parseValue(fields[k + 1]!, word, k, at);
  }
  if (count === declared) {
    for (let line = nextLine(); line !== undefined; line = nextLine()) {
      if (line.text.trim() !== '') {
        throw new EmbeddingsFormatError(
          `expected end of file after the ${declared} words the header declares, found another line ` +
            `${JSON.stringify(line.text.slice(0, 40))}. The header's word count is wrong.`,
          { line: lineNo, offset: line.offset },
        );
      }
    }
  }
  return new KeyedVectors(words, vectors, dim);
}

function parseValue(token: string, word: string, k: number, at: { line: number; offset: number }): number {
  if (NON_FINITE.test(token)) {
    const lower = token.toLowerCase();
    if (lower.includes('nan')) return Number.NaN;
    return lower.startsWith('-') ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  }
  const x = NUMBER.test(token) ? Number(token) : Number.NaN;
  if (Number.isNaN(x)) {
    throw new EmbeddingsFormatError(
      `expected a number for value ${k + 1} of ${JSON.stringify(word)}, found ${JSON.stringify(token)}`,
      at,
    );
  }
  if (!Number.isFinite(Math.fround(x))) {
    throw new EmbeddingsFormatError(
      `expected a float32 value for value ${k + 1} of ${JSON.stringify(word)}, found ${token}, which is out of range`,
      at,
    );
  }
  return x;
}

/** The C tool's text format in chunks of about `chunkBytes`, byte for byte as word2vec.c's `fprintf`s. */
export function* word2VecTextChunks(kv: KeyedVectors, chunkBytes = 1 << 20): Generator<Uint8Array> {
  checkWritable('writeWord2Vec', kv);
  const d = kv.dim;
  const v = kv.vectors;
  let parts: string[] = [`${kv.size} ${d}\n`];
  let size = 0;
  for (let r = 0; r < kv.size; r++) {
    let line = `${kv.words[r]!} `;
    for (let k = 0; k < d; k++) line += `${formatFloatC(v[r * d + k]!)} `;
    line += '\n';
    parts.push(line);
    size += line.length;
    if (size >= chunkBytes) {
      yield utf8.encode(parts.join(''));
      parts = [];
      size = 0;
    }
  }
  if (parts.length > 0) yield utf8.encode(parts.join(''));
}
