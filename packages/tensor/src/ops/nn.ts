import { apply } from '../apply.js';
import { arangeLike } from '../creation.js';
import { DTypeError, RecurError, ShapeError } from '../errors.js';
import type { OpDef } from '../op.js';
import { fmt, normAxis, shapesEqual } from '../shape.js';
import type { Tensor, TensorMeta } from '../tensor.js';
import { add, cast, div, eq, exp, mul, ne, neg, sub } from './elementwise.js';
import { logsumexp, sum } from './reduce.js';
import { expandDims } from './shape-ops.js';

export const softmaxOp: OpDef<{ axis: number }> = {
  name: 'softmax',
  infer: ([x]) => floatMeta('softmax', x!),
  decompose: ([x], { axis }) => exp(sub(x!, logsumexp(x!, axis, true))),
};

export const logSoftmaxOp: OpDef<{ axis: number }> = {
  name: 'logSoftmax',
  infer: ([x]) => floatMeta('logSoftmax', x!),
  decompose: ([x], { axis }) => sub(x!, logsumexp(x!, axis, true)),
};

/** [..., depth] with 1 at each index and 0 elsewhere (all 0 for an index outside [0, depth)). */
export const oneHotOp: OpDef<{ depth: number }> = {
  name: 'oneHot',
  infer: ([idx], { depth }) => {
    if (idx!.dtype !== 'i32') throw new DTypeError(`oneHot: expected i32 indices, found ${idx!.dtype}.`);
    if (!Number.isInteger(depth) || depth <= 0)
      throw new ShapeError(`oneHot: expected a positive integer depth, found ${depth}.`);
    return { shape: [...idx!.shape, depth], dtype: 'f32' };
  },
  decompose: ([idx], { depth }) => cast(eq(expandDims(idx!, -1), arangeLike(idx!, depth)), 'f32'),
};

export interface CrossEntropyOptions {
  /** Targets equal to this contribute nothing (default -100, as PyTorch). */
  readonly ignoreIndex?: number;
  /** Per-target weights, e.g. a 0/1 padding mask, shaped like the targets. */
  readonly mask?: Tensor;
  /** 'mean' over counted targets (default), 'sum', or 'none' for per-target losses. */
  readonly reduction?: 'mean' | 'sum' | 'none';
  /** Mixes the one-hot target with a uniform distribution: (1-ε)·onehot + ε/C. */
  readonly labelSmoothing?: number;
}

interface CrossEntropyAttrs {
  ignoreIndex: number;
  reduction: 'mean' | 'sum' | 'none';
  labelSmoothing: number;
}

/** Cross-entropy of logits [..., C] (classes on the last axis) against i32 class indices [...]. */
export const crossEntropyOp: OpDef<CrossEntropyAttrs> = {
  name: 'crossEntropy',
  infer: ([logits, targets, mask], { reduction, labelSmoothing }) => {
    floatMeta('crossEntropy', logits!);
    if (targets!.dtype !== 'i32') {
      throw new DTypeError(
        `crossEntropy: expected i32 class indices as targets, found ${targets!.dtype}. Use .cast('i32').`,
      );
    }
    const lead = logits!.shape.slice(0, -1);
    if (logits!.shape.length < 1 || !shapesEqual(lead, targets!.shape)) {
      throw new ShapeError(
        `crossEntropy: expected targets of shape ${fmt(lead)} for logits ${fmt(logits!.shape)} (classes on the last axis), found ${fmt(targets!.shape)}.`,
      );
    }
    if (mask && !shapesEqual(mask.shape, targets!.shape)) {
      throw new ShapeError(
        `crossEntropy: expected a mask of shape ${fmt(targets!.shape)}, found ${fmt(mask.shape)}.`,
      );
    }
    if (!(labelSmoothing >= 0 && labelSmoothing < 1)) {
      throw new RecurError(`crossEntropy: expected labelSmoothing in [0, 1), found ${labelSmoothing}.`);
    }
    return { shape: reduction === 'none' ? lead : [], dtype: logits!.dtype };
  },
  decompose: ([logits, targets, mask], { ignoreIndex, reduction, labelSmoothing }) => {
    const classes = logits!.shape[logits!.shape.length - 1]!;
    checkTargets(targets!, classes, ignoreIndex);
    const logp = sub(logits!, logsumexp(logits!, -1, true));
    let q = cast(oneHot(targets!, classes), logits!.dtype);
    if (labelSmoothing > 0) q = add(mul(q, 1 - labelSmoothing), labelSmoothing / classes);
    let weight = cast(ne(targets!, ignoreIndex), logits!.dtype);
    if (mask) weight = mul(weight, cast(mask, logits!.dtype));
    const losses = mul(neg(sum(mul(q, logp), -1)), weight);
    if (reduction === 'none') return losses;
    if (reduction === 'sum') return sum(losses);
    return div(sum(losses), sum(weight));
  },
};

function floatMeta(op: string, x: TensorMeta): TensorMeta {
  if (x.dtype === 'i32') throw new DTypeError(`${op}: expected f32 or f64 input, found i32. Cast it first.`);
  return { shape: x.shape, dtype: x.dtype };
}

/** Out-of-range targets would silently count as zero loss; refuse them where values are readable. */
function checkTargets(targets: Tensor, classes: number, ignoreIndex: number): void {
  if (!targets.backend.readSync) return;
  const values = targets.dataSync();
  for (let i = 0; i < values.length; i++) {
    const t = values[i]!;
    if (t !== ignoreIndex && (t < 0 || t >= classes)) {
      throw new RecurError(
        `crossEntropy: expected class indices in [0, ${classes - 1}] (or ignoreIndex ${ignoreIndex}), found ${t} at position ${i}. Check the vocabulary size or label encoding.`,
      );
    }
  }
}

export function softmax(x: Tensor, axis = -1): Tensor {
  return apply(softmaxOp, [x], { axis: normAxis('softmax', axis, x.shape.length) });
}
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return apply(logSoftmaxOp, [x], { axis: normAxis('logSoftmax', axis, x.shape.length) });
}
export function oneHot(indices: Tensor, depth: number): Tensor {
  return apply(oneHotOp, [indices], { depth });
}
export function crossEntropy(logits: Tensor, targets: Tensor, options: CrossEntropyOptions = {}): Tensor {
  const inputs = options.mask ? [logits, targets, options.mask] : [logits, targets];
  return apply(crossEntropyOp, inputs, {
    ignoreIndex: options.ignoreIndex ?? -100,
    reduction: options.reduction ?? 'mean',
    labelSmoothing: options.labelSmoothing ?? 0,
  });
}
