import { type Backend, expandDims, fromData, mul, oneHot, type Tensor, tidy } from '@recur/tensor';
import { DataError, describe, positiveInt, show } from './errors.js';
import type { EncodeOptions, Vocab } from './vocab.js';

/** Where the batch axis goes: `[B, T]` (`'batch-first'`, the default) or `[T, B]` (`'time-first'`). */
export type Layout = 'batch-first' | 'time-first';

export interface TensorOptions {
  /** The backend the tensors are created on (default: the active one). */
  readonly backend?: Backend;
}

export interface PadOptions extends TensorOptions {
  /** The value at padded positions (default 0; `encodeBatch` uses the vocabulary's `<pad>`). */
  readonly padValue?: number;
  /** `'batch-first'` ([B, T], default) or `'time-first'` ([T, B]); the mask takes the same layout. */
  readonly layout?: Layout;
  /** Sequences longer than this are truncated (see `truncate`). */
  readonly maxLength?: number;
  /** Which end a too-long sequence loses: `'end'` (default, keeps the beginning) or `'start'`. */
  readonly truncate?: 'end' | 'start';
}

/** A padded batch of index sequences. */
export interface PaddedBatch {
  /** i32 indices, `[B, T]` or `[T, B]` as `layout` says, padded with the pad value. */
  readonly indices: Tensor;
  /** The length of each sequence (after truncation), in batch order: what the recurrent layers take as `lengths`. */
  readonly lengths: Int32Array;
  /** f32, the shape of `indices`: 1 at real steps, 0 at padding (e.g. the `mask` of `crossEntropy`). */
  readonly mask: Tensor;
  /** T, the longest length in the batch. */
  readonly maxLength: number;
  readonly layout: Layout;
}

function checkLayout(where: string, layout: unknown): Layout {
  if (layout !== 'batch-first' && layout !== 'time-first') {
    throw new DataError(describe(where, "layout 'batch-first' or 'time-first'", show(layout)));
  }
  return layout;
}

function tensorOptions(options: TensorOptions): { backend?: Backend } {
  return options.backend ? { backend: options.backend } : {};
}

/**
 * Pads sequences of indices to the longest one and returns the indices, lengths and mask. Every
 * sequence must have at least one step (a recurrent layer cannot run zero steps).
 */
export function padSequences(sequences: readonly ArrayLike<number>[], options: PadOptions = {}): PaddedBatch {
  const where = 'padSequences';
  const layout = checkLayout(where, options.layout ?? 'batch-first');
  const padValue = options.padValue ?? 0;
  if (!Number.isInteger(padValue)) {
    throw new DataError(describe(where, 'an integer padValue', show(padValue)));
  }
  const maxLength =
    options.maxLength === undefined
      ? Number.POSITIVE_INFINITY
      : positiveInt(where, 'maxLength', options.maxLength);
  const truncate = options.truncate ?? 'end';
  if (truncate !== 'end' && truncate !== 'start') {
    throw new DataError(describe(where, "truncate 'end' or 'start'", show(truncate)));
  }
  const batch = sequences.length;
  if (batch === 0) throw new DataError(describe(where, 'at least one sequence', 'an empty batch'));
  const lengths = new Int32Array(batch);
  let steps = 0;
  for (let b = 0; b < batch; b++) {
    const n = sequences[b]!.length;
    if (n === 0) {
      throw new DataError(
        describe(
          where,
          'sequences of at least one step',
          `an empty sequence at position ${b}`,
          'Drop empty texts before batching (a recurrent layer cannot run zero steps).',
        ),
      );
    }
    lengths[b] = Math.min(n, maxLength);
    steps = Math.max(steps, lengths[b]!);
  }
  const data = new Int32Array(batch * steps).fill(padValue);
  const mask = new Float32Array(batch * steps);
  const timeFirst = layout === 'time-first';
  for (let b = 0; b < batch; b++) {
    const seq = sequences[b]!;
    const len = lengths[b]!;
    const skip = truncate === 'start' ? seq.length - len : 0;
    for (let t = 0; t < len; t++) {
      const v = seq[skip + t]!;
      if (!Number.isInteger(v)) {
        throw new DataError(
          describe(where, 'integer indices', `${show(v)} at sequence ${b}, step ${skip + t}`),
        );
      }
      const k = timeFirst ? t * batch + b : b * steps + t;
      data[k] = v;
      mask[k] = 1;
    }
  }
  const shape = timeFirst ? [steps, batch] : [batch, steps];
  const to = tensorOptions(options);
  return {
    indices: fromData(data, shape, { dtype: 'i32', ...to }),
    lengths,
    mask: fromData(mask, shape, { dtype: 'f32', ...to }),
    maxLength: steps,
    layout,
  };
}

export interface EncodeBatchOptions extends Omit<PadOptions, 'padValue'>, EncodeOptions {}

/**
 * Encodes texts with a vocabulary (normalisation, tokens, `<unk>` for unknown ones, optional
 * `<bos>`/`<eos>`) and pads them with the vocabulary's `<pad>`.
 *
 * @example
 * const { indices, lengths, mask } = encodeBatch(vocab, ['Abe', 'Zhou']); // indices: i32 [2, 4]
 */
export function encodeBatch(
  vocab: Vocab,
  texts: readonly string[],
  options: EncodeBatchOptions = {},
): PaddedBatch {
  const pad = vocab.special('pad', 'encodeBatch');
  const encodeOptions = { ...(options.bos ? { bos: true } : {}), ...(options.eos ? { eos: true } : {}) };
  const sequences = texts.map((t, i) => {
    const seq = vocab.encode(t, encodeOptions);
    if (seq.length === 0) {
      throw new DataError(
        describe(
          'encodeBatch',
          'texts with at least one token',
          `${show(t)} at position ${i}`,
          'Drop empty texts first.',
        ),
      );
    }
    return seq;
  });
  return padSequences(sequences, { ...options, padValue: pad });
}

/**
 * One-hot vectors of a batch's indices: f32 `[B, T, depth]` (or `[T, B, depth]`), all zeros at
 * padded steps, so padding adds nothing to a layer's input. Runs on the batch's backend.
 */
export function oneHotBatch(batch: PaddedBatch, depth: number): Tensor {
  positiveInt('oneHotBatch', 'depth', depth);
  return tidy(() => mul(oneHot(batch.indices, depth), expandDims(batch.mask, -1)));
}

/** One text as one-hot vectors, f32 `[T, vocab.size]` (the classic character-RNN input). */
export function oneHotEncode(
  vocab: Vocab,
  text: string,
  options: TensorOptions & EncodeOptions = {},
): Tensor {
  const seq = vocab.encode(text, options);
  const out = new Float32Array(seq.length * vocab.size);
  seq.forEach((v, t) => {
    out[t * vocab.size + v] = 1;
  });
  return fromData(out, [seq.length, vocab.size], { dtype: 'f32', ...tensorOptions(options) });
}
