import { fromData, type Tensor } from '@recur/tensor';
import type { Layout, TensorOptions } from './batch.js';
import { DataError, describe, positiveInt, show } from './errors.js';
import { normalizedPieces, type TextSource } from './stream.js';
import type { Vocab } from './vocab.js';

/**
 * Encodes a whole corpus as one sequence of indices (for a language model). The text is
 * normalised as the vocabulary says; unknown tokens become `<unk>` (or are an error without it).
 */
export function encodeCorpus(vocab: Vocab, text: string): Int32Array {
  return vocab.encode(text);
}

/**
 * Encodes a text source piece by piece, yielding the indices of each piece; memory holds one
 * piece. Line endings are LF (CRLF is converted) and a byte-order mark is dropped, as in the
 * vocabulary builders' `fromStream`.
 */
export async function* encodeStream(vocab: Vocab, source: TextSource): AsyncGenerator<Int32Array> {
  for await (const piece of normalizedPieces(source, vocab.text)) {
    const ids = vocab.encodeNormalized(piece);
    if (ids.length > 0) yield ids;
  }
}

/** Concatenates index chunks (e.g. from `encodeStream`) into one array. */
export async function collectIndices(
  chunks: AsyncIterable<Int32Array> | Iterable<Int32Array>,
): Promise<Int32Array> {
  const parts: Int32Array[] = [];
  let n = 0;
  for await (const c of chunks) {
    parts.push(c);
    n += c.length;
  }
  const out = new Int32Array(n);
  let k = 0;
  for (const p of parts) {
    out.set(p, k);
    k += p.length;
  }
  return out;
}

/**
 * A corpus laid out as `batchSize` parallel streams: stream b is the b-th contiguous slice of
 * the corpus, so consecutive chunks of a stream continue one another and a model's state can be
 * carried from chunk to chunk (truncated BPTT).
 */
export interface Batchified {
  /** Row-major `[batchSize, streamLength]`: stream b is `data.subarray(b·L, (b+1)·L)`. */
  readonly data: Int32Array;
  readonly batchSize: number;
  /** L = floor(corpus length / batchSize); the last `length mod batchSize` tokens are dropped. */
  readonly streamLength: number;
}

/** Cuts a corpus into `batchSize` contiguous streams of equal length (the standard "batchify"). */
export function batchify(indices: ArrayLike<number>, batchSize: number): Batchified {
  positiveInt('batchify', 'batchSize', batchSize);
  const streamLength = Math.floor(indices.length / batchSize);
  checkStreamLength('batchify', indices.length, batchSize, streamLength);
  const data = new Int32Array(batchSize * streamLength);
  for (let i = 0; i < data.length; i++) {
    const v = indices[i]!;
    if (!Number.isInteger(v))
      throw new DataError(describe('batchify', 'integer token indices', `${show(v)} at ${i}`));
    data[i] = v;
  }
  return { data, batchSize, streamLength };
}

function checkStreamLength(where: string, length: number, batchSize: number, streamLength: number): void {
  if (streamLength < 2) {
    throw new DataError(
      describe(
        where,
        `a corpus of at least ${2 * batchSize} tokens for batchSize ${batchSize} (two per stream: an input and its target)`,
        `${length} tokens`,
        'Use a longer text or a smaller batchSize.',
      ),
    );
  }
}

export interface BpttOptions extends TensorOptions {
  /** Steps per chunk (truncated-BPTT length). */
  readonly seqLen: number;
  /** `'batch-first'` ([B, T], default) or `'time-first'` ([T, B]). */
  readonly layout?: Layout;
  /** Leave out a last chunk shorter than seqLen, so every chunk has the same shape (default false). */
  readonly dropLast?: boolean;
}

/** One chunk of every stream: inputs and the next tokens as targets. */
export interface BpttChunk {
  /** i32 `[B, T]` (or `[T, B]`): tokens `offset .. offset+T-1` of each stream. */
  readonly inputs: Tensor;
  /** i32, like `inputs`: tokens `offset+1 .. offset+T` (each input's next token). */
  readonly targets: Tensor;
  /** The chunk number, from 0. */
  readonly index: number;
  /** Position of the chunk's first input within each stream. */
  readonly offset: number;
  /** T, the chunk's number of steps (seqLen, or less for the last one). */
  readonly length: number;
}

/** How many chunks `bpttChunks` yields for streams of `streamLength` tokens. */
export function bpttChunkCount(streamLength: number, seqLen: number, dropLast = false): number {
  positiveInt('bpttChunkCount', 'seqLen', seqLen);
  const steps = Math.max(0, streamLength - 1);
  return dropLast ? Math.floor(steps / seqLen) : Math.ceil(steps / seqLen);
}

function checkBptt(where: string, options: BpttOptions): { seqLen: number; timeFirst: boolean } {
  const seqLen = positiveInt(where, 'seqLen', options.seqLen);
  const layout = options.layout ?? 'batch-first';
  if (layout !== 'batch-first' && layout !== 'time-first') {
    throw new DataError(describe(where, "layout 'batch-first' or 'time-first'", show(layout)));
  }
  return { seqLen, timeFirst: layout === 'time-first' };
}

/** Builds a chunk from each stream's tokens `offset .. offset+length` (length+1 tokens per stream). */
function makeChunk(
  rows: readonly ArrayLike<number>[],
  index: number,
  offset: number,
  length: number,
  timeFirst: boolean,
  options: TensorOptions,
): BpttChunk {
  const batch = rows.length;
  const inputs = new Int32Array(batch * length);
  const targets = new Int32Array(batch * length);
  for (let b = 0; b < batch; b++) {
    const row = rows[b]!;
    for (let t = 0; t < length; t++) {
      const k = timeFirst ? t * batch + b : b * length + t;
      inputs[k] = row[t]!;
      targets[k] = row[t + 1]!;
    }
  }
  const shape = timeFirst ? [length, batch] : [batch, length];
  const to = { dtype: 'i32' as const, ...(options.backend ? { backend: options.backend } : {}) };
  return {
    inputs: fromData(inputs, shape, to),
    targets: fromData(targets, shape, to),
    index,
    offset,
    length,
  };
}

/**
 * The chunks of a batchified corpus for truncated BPTT, in order: chunk k holds steps
 * `k·seqLen ..` of every stream, and its targets are the inputs shifted by one. Chunk k+1 of
 * stream b starts where chunk k ended, so carry the final state of one chunk into the next
 * (detached). Tensors are created as the chunks are drawn; dispose them (or use `tidy`) when done.
 */
export function* bpttChunks(batched: Batchified, options: BpttOptions): Generator<BpttChunk> {
  const { seqLen, timeFirst } = checkBptt('bpttChunks', options);
  const { data, batchSize, streamLength } = batched;
  const count = bpttChunkCount(streamLength, seqLen, options.dropLast);
  for (let k = 0; k < count; k++) {
    const offset = k * seqLen;
    const length = Math.min(seqLen, streamLength - 1 - offset);
    const rows = Array.from({ length: batchSize }, (_, b) =>
      data.subarray(b * streamLength + offset, b * streamLength + offset + length + 1),
    );
    yield makeChunk(rows, k, offset, length, timeFirst, options);
  }
}

/** Random access to a sequence of token indices, e.g. an index file on disk (`openIndexFile`). */
export interface TokenReader {
  readonly length: number;
  /** Tokens `start .. start+count-1`. */
  read(start: number, count: number): Int32Array | Promise<Int32Array>;
}

/** A `TokenReader` over indices in memory. */
export function arrayReader(indices: Int32Array): TokenReader {
  return { length: indices.length, read: (start, count) => indices.subarray(start, start + count) };
}

/**
 * `bpttChunks(batchify(tokens, batchSize), options)` for tokens that need not fit in memory: each
 * chunk reads its `batchSize` slices from the reader, so memory holds one chunk. The chunks are
 * the same as the in-memory version's.
 */
export async function* bpttChunksFrom(
  reader: TokenReader,
  options: BpttOptions & { readonly batchSize: number },
): AsyncGenerator<BpttChunk> {
  const where = 'bpttChunksFrom';
  const batchSize = positiveInt(where, 'batchSize', options.batchSize);
  const { seqLen, timeFirst } = checkBptt(where, options);
  const streamLength = Math.floor(reader.length / batchSize);
  checkStreamLength(where, reader.length, batchSize, streamLength);
  const count = bpttChunkCount(streamLength, seqLen, options.dropLast);
  for (let k = 0; k < count; k++) {
    const offset = k * seqLen;
    const length = Math.min(seqLen, streamLength - 1 - offset);
    const rows: Int32Array[] = [];
    for (let b = 0; b < batchSize; b++) {
      const row = await reader.read(b * streamLength + offset, length + 1);
      if (row.length !== length + 1) {
        throw new DataError(
          describe(
            where,
            `${length + 1} tokens from the reader at ${b * streamLength + offset}`,
            `${row.length}`,
          ),
        );
      }
      rows.push(row);
    }
    yield makeChunk(rows, k, offset, length, timeFirst, options);
  }
}
