import {
  cast,
  crossEntropy,
  logsumexp,
  maximum,
  mul,
  ne,
  neg,
  oneHot,
  stack,
  sub,
  sum,
  type Tensor,
  tidy,
  where,
  zerosLike,
} from '@recur/tensor';
import { describe, fmtShape, TrainError, typeName } from './errors.js';

/** How per-element losses become one number: their (weighted) mean, their sum, or none (per element). */
export type Reduction = 'mean' | 'sum' | 'none';

export interface ClassLossOptions {
  /** Per-target weights shaped like the targets, e.g. a 0/1 padding mask (0 = not counted). */
  readonly mask?: Tensor;
  /** Targets equal to this contribute nothing (default -100, as PyTorch). */
  readonly ignoreIndex?: number;
  /** 'mean' over the counted targets (default), 'sum', or 'none'. */
  readonly reduction?: Reduction;
}

export interface CrossEntropyLossOptions extends ClassLossOptions {
  /** Mixes the one-hot target with the uniform distribution: (1-ε)·onehot + ε/C (default 0). */
  readonly labelSmoothing?: number;
}

export interface RegressionLossOptions {
  /** Per-element weights broadcastable to the predictions (0 = not counted); the mean divides by their sum. */
  readonly mask?: Tensor;
  /** 'mean' (default), 'sum', or 'none'. */
  readonly reduction?: Reduction;
}

export interface BinaryLossOptions extends RegressionLossOptions {
  /** Weight of the positive term, as PyTorch's `pos_weight` (a number, or a tensor broadcast over the last axis). */
  readonly posWeight?: number | Tensor;
}

function checkTensor(where: string, name: string, t: unknown): asserts t is Tensor {
  if (typeof t !== 'object' || t === null || !('shape' in t) || !('dtype' in t)) {
    throw new TrainError(describe(where, `${name} to be a Tensor`, typeName(t)));
  }
}

function checkReduction(where: string, reduction: unknown): Reduction {
  const r = reduction ?? 'mean';
  if (r !== 'mean' && r !== 'sum' && r !== 'none') {
    throw new TrainError(describe(where, "reduction 'mean', 'sum' or 'none'", typeName(r)));
  }
  return r;
}

function checkFloat(where: string, name: string, t: Tensor): void {
  if (t.dtype === 'i32') {
    throw new TrainError(
      describe(where, `${name} of a floating dtype (f32 or f64)`, 'i32', `Cast it with .cast('f32').`),
    );
  }
}

function checkSameShape(where: string, a: Tensor, b: Tensor, what: string): void {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new TrainError(
      describe(where, `${what} of shape ${fmtShape(a.shape)} (the predictions' shape)`, fmtShape(b.shape)),
    );
  }
}

/**
 * Cross-entropy of logits `[..., C]` (classes on the last axis) against i32 class indices `[...]`,
 * as `torch.nn.functional.cross_entropy`: log-softmax and negative log-likelihood in one stable op,
 * with a padding mask, an ignore index and label smoothing.
 *
 * ```ts
 * const loss = crossEntropyLoss(logits, targets, { mask, labelSmoothing: 0.1 });
 * ```
 */
export function crossEntropyLoss(
  logits: Tensor,
  targets: Tensor,
  options: CrossEntropyLossOptions = {},
): Tensor {
  const where = 'crossEntropyLoss';
  checkTensor(where, 'logits', logits);
  checkTensor(where, 'targets', targets);
  const reduction = checkReduction(where, options.reduction);
  return crossEntropy(logits, targets, {
    reduction,
    ...(options.mask !== undefined ? { mask: options.mask } : {}),
    ...(options.ignoreIndex !== undefined ? { ignoreIndex: options.ignoreIndex } : {}),
    ...(options.labelSmoothing !== undefined ? { labelSmoothing: options.labelSmoothing } : {}),
  });
}

/**
 * Negative log-likelihood of log-probabilities `[..., C]` (e.g. `logSoftmax(logits)`) against i32
 * class indices `[...]`, as `torch.nn.functional.nll_loss`: `-logp[target]`, averaged over the
 * counted targets.
 */
export function nllLoss(logProbs: Tensor, targets: Tensor, options: ClassLossOptions = {}): Tensor {
  const where = 'nllLoss';
  checkTensor(where, 'logProbs', logProbs);
  checkTensor(where, 'targets', targets);
  checkFloat(where, 'logProbs', logProbs);
  const reduction = checkReduction(where, options.reduction);
  const ignoreIndex = options.ignoreIndex ?? -100;
  if (targets.dtype !== 'i32') {
    throw new TrainError(
      describe(where, 'i32 class indices as targets', targets.dtype, "Cast them with .cast('i32')."),
    );
  }
  const lead = logProbs.shape.slice(0, -1);
  if (
    logProbs.shape.length < 1 ||
    lead.length !== targets.shape.length ||
    lead.some((d, i) => d !== targets.shape[i])
  ) {
    throw new TrainError(
      describe(
        where,
        `targets of shape ${fmtShape(lead)} for logProbs ${fmtShape(logProbs.shape)} (classes on the last axis)`,
        fmtShape(targets.shape),
      ),
    );
  }
  if (options.mask !== undefined) checkSameShapeAs(where, targets, options.mask, 'a mask');
  const classes = logProbs.shape[logProbs.shape.length - 1]!;
  checkClassIndices(where, targets, classes, ignoreIndex);
  return tidy(() => {
    const picked = sum(mul(cast(oneHot(targets, classes), logProbs.dtype), logProbs), -1);
    let weight = cast(ne(targets, ignoreIndex), logProbs.dtype);
    if (options.mask !== undefined) weight = mul(weight, cast(options.mask, logProbs.dtype));
    const losses = mul(neg(picked), weight);
    return reduce(losses, weight, reduction);
  });
}

/** Mean squared error `(prediction - target)²`, as `torch.nn.functional.mse_loss`, with an optional mask. */
export function mseLoss(predictions: Tensor, targets: Tensor, options: RegressionLossOptions = {}): Tensor {
  const where = 'mseLoss';
  checkTensor(where, 'predictions', predictions);
  checkTensor(where, 'targets', targets);
  checkFloat(where, 'predictions', predictions);
  checkSameShape(where, predictions, targets, 'targets');
  const reduction = checkReduction(where, options.reduction);
  return tidy(() => {
    const d = sub(predictions, cast(targets, predictions.dtype));
    return weighted(mul(d, d), options.mask, reduction);
  });
}

/**
 * Binary cross-entropy on logits, as `torch.nn.functional.binary_cross_entropy_with_logits`:
 * `softplus(x) - x·y` (with `posWeight` p: `(1-y)·x + (1+(p-1)·y)·softplus(-x)`), where softplus is
 * computed as `logsumexp([0, x])`: stable for any logit and smooth, so its gradient is exactly
 * `sigmoid(x) - y`. Targets are probabilities in [0, 1] of the logits' shape.
 */
export function binaryCrossEntropyWithLogits(
  logits: Tensor,
  targets: Tensor,
  options: BinaryLossOptions = {},
): Tensor {
  const where = 'binaryCrossEntropyWithLogits';
  checkTensor(where, 'logits', logits);
  checkTensor(where, 'targets', targets);
  checkFloat(where, 'logits', logits);
  checkSameShape(where, logits, targets, 'targets');
  const reduction = checkReduction(where, options.reduction);
  return tidy(() => {
    const y = cast(targets, logits.dtype);
    const zero = zerosLike(logits);
    const softplusNeg = logsumexp(stack([zero, neg(logits)], -1), -1); // log(1 + e^{-x})
    let losses: Tensor;
    if (options.posWeight === undefined) {
      // softplus(x) - x·y = (1 - y)·x + softplus(-x)
      losses = mul(sub(1, y), logits).add(softplusNeg);
    } else {
      const p =
        typeof options.posWeight === 'number' ? options.posWeight : cast(options.posWeight, logits.dtype);
      const coeff = mul(sub(p, 1), y).add(1);
      losses = mul(sub(1, y), logits).add(mul(coeff, softplusNeg));
    }
    return weighted(losses, options.mask, reduction);
  });
}

/**
 * Binary cross-entropy on probabilities in [0, 1], as `torch.nn.functional.binary_cross_entropy`:
 * `-(y·log p + (1-y)·log(1-p))` with each log clamped at -100 (so p = 0 or 1 gives a finite loss).
 * Prefer `binaryCrossEntropyWithLogits`, which is stable where this one saturates.
 */
export function binaryCrossEntropy(
  probs: Tensor,
  targets: Tensor,
  options: RegressionLossOptions = {},
): Tensor {
  const where = 'binaryCrossEntropy';
  checkTensor(where, 'probs', probs);
  checkTensor(where, 'targets', targets);
  checkFloat(where, 'probs', probs);
  checkSameShape(where, probs, targets, 'targets');
  const reduction = checkReduction(where, options.reduction);
  return tidy(() => {
    const y = cast(targets, probs.dtype);
    const logP = maximum(probs.log(), -100);
    const log1mP = maximum(sub(1, probs).log(), -100);
    const losses = neg(mul(y, logP).add(mul(sub(1, y), log1mP)));
    return weighted(losses, options.mask, reduction);
  });
}

function checkSameShapeAs(where: string, like: Tensor, t: Tensor, what: string): void {
  if (t.shape.length !== like.shape.length || t.shape.some((d, i) => d !== like.shape[i])) {
    throw new TrainError(describe(where, `${what} of shape ${fmtShape(like.shape)}`, fmtShape(t.shape)));
  }
}

/** Out-of-range targets would silently count as zero loss: refuse them where values are readable. */
function checkClassIndices(where: string, targets: Tensor, classes: number, ignoreIndex: number): void {
  if (!targets.backend.readSync) return;
  const values = targets.dataSync();
  for (let i = 0; i < values.length; i++) {
    const t = values[i]!;
    if (t !== ignoreIndex && (t < 0 || t >= classes)) {
      throw new TrainError(
        describe(
          where,
          `class indices in [0, ${classes - 1}] (or ignoreIndex ${ignoreIndex})`,
          `${t} at position ${i}`,
          'Check the vocabulary size or the label encoding.',
        ),
      );
    }
  }
}

/** Applies an optional broadcastable mask, then the reduction (a masked mean divides by the mask's sum). */
function weighted(losses: Tensor, mask: Tensor | undefined, reduction: Reduction): Tensor {
  if (mask === undefined) {
    if (reduction === 'none') return losses;
    return reduction === 'sum' ? sum(losses) : losses.mean();
  }
  const w = cast(mask, losses.dtype).broadcastTo(losses.shape);
  const masked = where(ne(w, 0), mul(losses, w), 0);
  return reduce(masked, w, reduction);
}

function reduce(losses: Tensor, weight: Tensor, reduction: Reduction): Tensor {
  if (reduction === 'none') return losses;
  if (reduction === 'sum') return sum(losses);
  return sum(losses).div(sum(weight));
}
