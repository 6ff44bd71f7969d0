// The Node entry: everything of the main entry, plus files.

import { createReadStream } from 'node:fs';
import { type FileHandle, open, readdir, readFile, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { writeFileAtomic } from './atomic.js';
import { collectIndices, encodeStream, type TokenReader } from './corpus.js';
import { DataError, DataFormatError, describe, positiveInt, show } from './errors.js';
import { Labels } from './labels.js';
import {
  type CsvColumnOptions,
  type PairsOptions,
  readCsvColumn,
  readLabelledLines,
  readPairs,
  type SentencePair,
} from './readers.js';
import { classCounts, type Example } from './split.js';
import { decodeText, readLines } from './stream.js';
import { normalizeText, type TextOptions } from './text.js';
import { buildFromStream, Vocab, type VocabOptions } from './vocab.js';

export * from './index.js';

function ioError(where: string, expected: string, err: unknown): DataError {
  const reason = err instanceof Error ? err.message : String(err);
  return new DataError(describe(where, expected, reason), { cause: err });
}

export interface FileSourceOptions {
  /** Bytes per read (default 64 KiB). Memory holds about one chunk. */
  readonly chunkSize?: number;
}

/**
 * A file's bytes as an async iterable of chunks, for the streaming readers (`readLines`,
 * `CharVocab.fromStream`, `encodeStream`, ...). A missing or unreadable file is a `DataError`
 * naming the path.
 */
export async function* fileSource(path: string, options: FileSourceOptions = {}): AsyncGenerator<Uint8Array> {
  const chunkSize = positiveInt('fileSource', 'chunkSize', options.chunkSize ?? 65536);
  const stream = createReadStream(path, { highWaterMark: chunkSize });
  try {
    for await (const chunk of stream) yield chunk as Uint8Array;
  } catch (err) {
    throw ioError('fileSource', `a readable file at ${JSON.stringify(path)}`, err);
  } finally {
    stream.destroy();
  }
}

/** The lines of a file (LF or CRLF), streamed; see `readLines`. */
export function fileLines(path: string, options: FileSourceOptions = {}): AsyncGenerator<string> {
  return readLines(fileSource(path, options), { source: path });
}

/** A whole text file as a string: UTF-8 checked, byte-order mark dropped, CRLF turned into LF. */
export async function readTextFile(path: string): Promise<string> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw ioError('readTextFile', `a readable file at ${JSON.stringify(path)}`, err);
  }
  let out = '';
  for await (const s of decodeText([bytes], { source: path })) out += s;
  return out;
}

export interface LabelledFolderOptions {
  /** File extension of the label files (default '.txt'). */
  readonly extension?: string;
  /** Normalisation of each line (default NFC only; accents kept). */
  readonly text?: TextOptions;
}

/** What `loadLabelledFolder` returns. */
export interface LabelledData {
  /** Every non-blank line, in file order, files in label order; repeats kept (the split removes them). */
  readonly examples: Example[];
  /** The labels (file names without the extension), in code-point order. */
  readonly labels: Labels;
  /** Examples per label. */
  readonly counts: Map<string, number>;
}

/**
 * Loads a folder of `<label>.txt` files with one example per line (the bundled `names` data: one
 * surname per line, the file name is its language). Files are streamed line by line; each line is
 * trimmed, inner whitespace collapsed, and normalised (NFC by default). A missing folder, a folder
 * without label files, or a label file without examples is an error.
 */
export async function loadLabelledFolder(
  dir: string,
  options: LabelledFolderOptions = {},
): Promise<LabelledData> {
  const where = 'loadLabelledFolder';
  const extension = options.extension ?? '.txt';
  let entries: string[];
  try {
    const s = await stat(dir);
    if (!s.isDirectory()) throw new Error('not a directory');
    entries = await readdir(dir);
  } catch (err) {
    throw ioError(where, `a folder of <label>${extension} files at ${JSON.stringify(dir)}`, err);
  }
  const files = entries.filter((f) => extname(f) === extension && !f.startsWith('.')).sort();
  if (files.length === 0) {
    const seen =
      entries.length === 0
        ? 'an empty folder'
        : `no ${extension} files among ${entries.slice(0, 5).join(', ')}${entries.length > 5 ? ', ...' : ''}`;
    throw new DataError(
      describe(
        where,
        `files named <label>${extension} in ${JSON.stringify(dir)}`,
        seen,
        'Point it at the folder holding the label files.',
      ),
    );
  }
  const examples: Example[] = [];
  const labelNames: string[] = [];
  for (const file of files) {
    const label = normalizeText(basename(file, extension));
    const path = join(dir, file);
    const lines = await readLabelledLines(fileSource(path), label, {
      source: path,
      ...(options.text ? { text: options.text } : {}),
    });
    if (lines.length === 0) {
      throw new DataError(
        describe(
          where,
          `at least one example (a non-blank line) in ${JSON.stringify(path)}`,
          'none',
          'Remove the file or fill it.',
        ),
      );
    }
    labelNames.push(label);
    examples.push(...lines);
  }
  const labels = new Labels(labelNames.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
  return { examples, labels, counts: classCounts(examples) };
}

/** Reads a file of sentence pairs (see `readPairs`), e.g. the bundled `translation/eng-fra.txt`. */
export async function loadSentencePairs(path: string, options: PairsOptions = {}): Promise<SentencePair[]> {
  const pairs = await readPairs(fileSource(path), { source: path, ...options });
  if (pairs.length === 0) {
    throw new DataError(
      describe('loadSentencePairs', `sentence pairs in ${JSON.stringify(path)}`, 'an empty file'),
    );
  }
  return pairs;
}

/** Reads one numeric column of a CSV file, streamed (see `readCsvColumn`). */
export function loadCsvColumn(path: string, options: CsvColumnOptions = {}): Promise<Float64Array> {
  return readCsvColumn(fileSource(path), { source: path, ...options });
}

/** Builds a character or word vocabulary from a file, streamed: memory holds the counts and one chunk. */
export async function vocabFromFile(
  path: string,
  options: VocabOptions & { readonly level: 'char' | 'word' } & FileSourceOptions,
): Promise<Vocab> {
  if (options.level !== 'char' && options.level !== 'word') {
    throw new DataError(describe('vocabFromFile', "level 'char' or 'word'", show(options.level)));
  }
  return buildFromStream(
    options.level,
    fileSource(path, options),
    options,
    'vocabFromFile',
    `an empty file ${JSON.stringify(path)}`,
  );
}

/** Encodes a whole file as one sequence of indices (a corpus for `batchify`), streamed while encoding. */
export async function encodeFile(
  vocab: Vocab,
  path: string,
  options: FileSourceOptions = {},
): Promise<Int32Array> {
  const out = await collectIndices(encodeStream(vocab, fileSource(path, options)));
  if (out.length === 0) {
    throw new DataError(
      describe('encodeFile', `text in ${JSON.stringify(path)}`, 'no tokens (an empty file?)'),
    );
  }
  return out;
}

/** Writes a vocabulary as JSON, atomically. */
export async function saveVocab(path: string, vocab: Vocab): Promise<void> {
  const bytes = new TextEncoder().encode(`${JSON.stringify(vocab.toJSON())}\n`);
  await writeFileAtomic('saveVocab', path, [bytes]);
}

/** Reads a vocabulary that `saveVocab` wrote, validating its shape. */
export async function loadVocab(path: string): Promise<Vocab> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw ioError('loadVocab', `a readable vocabulary file at ${JSON.stringify(path)}`, err);
  }
  try {
    return Vocab.fromJSON(text);
  } catch (err) {
    if (err instanceof DataFormatError) throw new DataFormatError(err.message, { source: path });
    throw err;
  }
}

const MAGIC = 'RECURIDX';
const HEADER = 16;

/**
 * Writes token indices to a binary file (a 16-byte header, then little-endian int32s), atomically
 * and chunk by chunk: with `encodeStream` it turns a corpus larger than memory into a file that
 * `openIndexFile` reads at random, for `bpttChunksFrom`. Returns the number of tokens.
 */
export async function writeIndexFile(
  path: string,
  chunks: AsyncIterable<Int32Array> | Iterable<Int32Array>,
): Promise<number> {
  let count = 0;
  async function* bytes(): AsyncGenerator<Uint8Array> {
    const header = new Uint8Array(HEADER);
    header.set(new TextEncoder().encode(MAGIC));
    new DataView(header.buffer).setUint32(8, 1, true);
    yield header;
    for await (const c of chunks) {
      const out = new Uint8Array(c.length * 4);
      const view = new DataView(out.buffer);
      for (let i = 0; i < c.length; i++) view.setInt32(i * 4, c[i]!, true);
      count += c.length;
      yield out;
    }
  }
  await writeFileAtomic('writeIndexFile', path, bytes());
  return count;
}

/** An index file open for random access; close it when done. */
export interface IndexFile extends TokenReader {
  close(): Promise<void>;
}

/** Opens a file that `writeIndexFile` wrote, checking its header and size. */
export async function openIndexFile(path: string): Promise<IndexFile> {
  const where = 'openIndexFile';
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    throw ioError(where, `a readable index file at ${JSON.stringify(path)}`, err);
  }
  try {
    const { size } = await handle.stat();
    const header = new Uint8Array(HEADER);
    await handle.read(header, 0, HEADER, 0);
    const magic = new TextDecoder().decode(header.subarray(0, 8));
    const version = new DataView(header.buffer).getUint32(8, true);
    if (size < HEADER || magic !== MAGIC || version !== 1) {
      throw new DataFormatError(
        describe(
          where,
          `an index file (header ${MAGIC}, version 1)`,
          size < HEADER ? `${size} bytes` : `header ${show(magic)}, version ${version}`,
          'Write it with writeIndexFile.',
        ),
        { source: path },
      );
    }
    if ((size - HEADER) % 4 !== 0) {
      throw new DataFormatError(
        describe(where, 'a whole number of int32 values', `${size - HEADER} bytes of data (truncated?)`),
        {
          source: path,
        },
      );
    }
    const length = (size - HEADER) / 4;
    return {
      length,
      async read(start: number, count: number): Promise<Int32Array> {
        if (
          !Number.isInteger(start) ||
          !Number.isInteger(count) ||
          start < 0 ||
          count < 0 ||
          start + count > length
        ) {
          throw new DataError(
            describe('IndexFile.read', `a range within 0..${length}`, `start ${start}, count ${count}`),
          );
        }
        const buf = new Uint8Array(count * 4);
        let off = 0;
        while (off < buf.length) {
          const { bytesRead } = await handle.read(buf, off, buf.length - off, HEADER + start * 4 + off);
          if (bytesRead === 0)
            throw new DataFormatError(`${where}: the file shrank while reading.`, { source: path });
          off += bytesRead;
        }
        const view = new DataView(buf.buffer);
        const out = new Int32Array(count);
        for (let i = 0; i < count; i++) out[i] = view.getInt32(i * 4, true);
        return out;
      },
      close: () => handle.close(),
    };
  } catch (err) {
    await handle.close();
    throw err;
  }
}
