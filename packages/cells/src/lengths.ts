import { fromData, type Tensor } from '@recur/tensor';
import { CellsError, describe, fmtShape } from './errors.js';

/** Sequence lengths of a padded batch: one integer per sequence. */
export type Lengths = readonly number[] | Int32Array | Tensor;

/**
 * A padding mask `[B, T]` (batch first, whatever the layer's layout): non-zero or `true` at valid
 * steps. Each row must be a prefix of valid steps followed by padding, as packed sequences are.
 */
export type PaddingMask = Tensor | readonly (readonly (number | boolean)[])[];

function readInts(where: string, name: string, t: Tensor): ArrayLike<number> {
  if (!t.backend.readSync) {
    throw new CellsError(
      describe(
        where,
        `${name} readable on the host`,
        `a tensor on backend '${t.backend.name}', which cannot be read synchronously`,
        `Pass ${name} as an array of numbers.`,
      ),
    );
  }
  return t.dataSync();
}

/** Checks lengths against a batch of `batch` sequences of `steps` steps, returning them as numbers. */
export function normalizeLengths(where: string, lengths: Lengths, batch: number, steps: number): number[] {
  let values: ArrayLike<number>;
  if (Array.isArray(lengths) || lengths instanceof Int32Array) {
    values = lengths as ArrayLike<number>;
  } else {
    const t = lengths as Tensor;
    if (t.shape.length !== 1) {
      throw new CellsError(
        describe(where, `lengths of shape [${batch}]`, `a tensor of shape ${fmtShape(t.shape)}`),
      );
    }
    values = readInts(where, 'lengths', t);
  }
  if (values.length !== batch) {
    throw new CellsError(
      describe(
        where,
        `one length per sequence (${batch} for a batch of ${batch})`,
        `${values.length} lengths`,
        'Pass lengths in the order of the batch.',
      ),
    );
  }
  const out: number[] = [];
  for (let b = 0; b < values.length; b++) {
    const v = values[b]!;
    if (!Number.isInteger(v) || v < 1 || v > steps) {
      throw new CellsError(
        describe(
          where,
          `lengths that are integers from 1 to ${steps} (the padded length T)`,
          `${v} at index ${b}`,
          v === 0 ? 'Drop empty sequences from the batch.' : 'Pad the input to the longest sequence.',
        ),
      );
    }
    out.push(v);
  }
  return out;
}

/** Turns a prefix padding mask `[B, T]` into lengths. */
export function lengthsFromMask(where: string, mask: PaddingMask, batch: number, steps: number): number[] {
  let rows: number;
  let cols: number;
  let at: (b: number, t: number) => boolean;
  if (Array.isArray(mask)) {
    const m = mask as readonly (readonly (number | boolean)[])[];
    rows = m.length;
    cols = m[0]?.length ?? 0;
    if (m.some((r) => !Array.isArray(r) || r.length !== cols)) {
      throw new CellsError(describe(where, 'a rectangular mask [B, T]', 'rows of different lengths'));
    }
    at = (b, t) => Boolean(m[b]![t]);
  } else {
    const t = mask as Tensor;
    if (t.shape.length !== 2) {
      throw new CellsError(
        describe(where, `a mask of shape [${batch}, ${steps}] ([B, T])`, `shape ${fmtShape(t.shape)}`),
      );
    }
    rows = t.shape[0]!;
    cols = t.shape[1]!;
    const data = readInts(where, 'mask', t);
    at = (b, s) => data[b * cols + s] !== 0;
  }
  if (rows !== batch || cols !== steps) {
    throw new CellsError(
      describe(
        where,
        `a mask of shape [${batch}, ${steps}] ([B, T], batch first whatever batchFirst says)`,
        `shape [${rows}, ${cols}]`,
      ),
    );
  }
  const lengths: number[] = [];
  for (let b = 0; b < rows; b++) {
    let len = 0;
    while (len < cols && at(b, len)) len++;
    for (let s = len; s < cols; s++) {
      if (at(b, s)) {
        throw new CellsError(
          describe(
            where,
            'a mask whose valid steps come first, then padding, in every row',
            `row ${b} with padding at step ${len} before a valid step ${s}`,
            'Move padding to the end of each sequence, or pass lengths.',
          ),
        );
      }
    }
    lengths.push(len);
  }
  return normalizeLengths(where, lengths, batch, steps);
}

/**
 * For each step, a `[B, 1]` tensor (dtype and backend of `like`) that is 1 where the step is
 * valid and 0 in padding, or null for steps valid in every sequence.
 */
export function stepMasks(lengths: readonly number[], steps: number, like: Tensor): (Tensor | null)[] {
  const masks: (Tensor | null)[] = [];
  const shortest = Math.min(...lengths);
  for (let t = 0; t < steps; t++) {
    if (t < shortest) {
      masks.push(null);
      continue;
    }
    const values = lengths.map((len) => (t < len ? 1 : 0));
    masks.push(fromData(values, [lengths.length, 1], { dtype: like.dtype, backend: like.backend }));
  }
  return masks;
}
