import { keep, maximum, minimum, noGrad, type Tensor, tidy } from '@recur/tensor';
import { checkNumber, describe, TrainError } from './errors.js';
import { namedParametersOf, type ParameterSource } from './optim/optimizer.js';

export interface ClipGradNormOptions {
  /** The p of the p-norm: 2 (default), any p ≥ 1, or Infinity for the largest absolute value. */
  readonly normType?: number;
  /** Throw if the total norm is NaN or infinite instead of scaling by it (default false). */
  readonly errorIfNonfinite?: boolean;
}

function gradsOf(where: string, params: ParameterSource): Tensor[] {
  return namedParametersOf(where, params)
    .map(([, p]) => p.grad)
    .filter((g): g is Tensor => g !== null);
}

function readNumber(t: Tensor, where: string): number {
  if (!t.backend.readSync) {
    throw new TrainError(
      describe(
        where,
        'a backend with synchronous reads',
        `'${t.backend.name}'`,
        'Read the norm with await instead.',
      ),
    );
  }
  return t.dataSync()[0]!;
}

/** The global p-norm of the gradients of `params` (parameters without a gradient are skipped). */
export function gradNorm(params: ParameterSource, normType = 2): number {
  const grads = gradsOf('gradNorm', params);
  return globalNorm(grads, normType, 'gradNorm');
}

function checkNormType(normType: number, where: string): void {
  if (!(normType === Number.POSITIVE_INFINITY || (Number.isFinite(normType) && normType >= 1))) {
    throw new TrainError(describe(where, 'normType ≥ 1 or Infinity', String(normType)));
  }
}

function globalNorm(grads: Tensor[], normType: number, where: string): number {
  checkNormType(normType, where);
  if (grads.length === 0) return 0;
  return noGrad(() =>
    tidy(() => {
      if (normType === Number.POSITIVE_INFINITY) {
        let m = 0;
        for (const g of grads) m = Math.max(m, readNumber(g.abs().max(), where));
        return m;
      }
      let total = 0;
      for (const g of grads) {
        const s = normType === 2 ? g.mul(g).sum() : g.abs().pow(normType).sum();
        // A norm of NaN gradients must come out NaN, so the caller sees it.
        total += g.dtype === 'f32' ? readNumber(s.cast('f64'), where) : readNumber(s, where);
      }
      return total ** (1 / normType);
    }),
  );
}

/**
 * `globalNorm` for any backend: one partial (sum of |g|^p, or max |g|) per gradient on the device,
 * all read together with `await tensor.data()`, combined on the host in double precision.
 */
async function globalNormAsync(grads: Tensor[], normType: number, where: string): Promise<number> {
  checkNormType(normType, where);
  if (grads.length === 0) return 0;
  const inf = normType === Number.POSITIVE_INFINITY;
  const partials = noGrad(() =>
    grads.map((g) =>
      tidy(() => keep(inf ? g.abs().max() : normType === 2 ? g.mul(g).sum() : g.abs().pow(normType).sum())),
    ),
  );
  try {
    const values = await Promise.all(partials.map((t) => t.data()));
    if (inf) return values.reduce((m, v) => Math.max(m, v[0]!), 0);
    return values.reduce((total, v) => total + v[0]!, 0) ** (1 / normType);
  } finally {
    for (const t of partials) t.dispose();
  }
}

/** `gradNorm` for any backend (GPU ones included): the global p-norm of the gradients, read asynchronously. */
export function gradNormAsync(params: ParameterSource, normType = 2): Promise<number> {
  return globalNormAsync(gradsOf('gradNormAsync', params), normType, 'gradNormAsync');
}

/**
 * Scales the gradients of `params` in place so that their global norm is at most `maxNorm`, as
 * `torch.nn.utils.clip_grad_norm_` (coefficient `maxNorm / (norm + 1e-6)`, applied only when below
 * 1). Returns the norm before clipping, which is worth logging.
 */
export function clipGradNorm(
  params: ParameterSource,
  maxNorm: number,
  options: ClipGradNormOptions = {},
): number {
  checkNumber('clipGradNorm', 'maxNorm', maxNorm, { min: 0 });
  const params_ = namedParametersOf('clipGradNorm', params)
    .map(([, p]) => p)
    .filter((p) => p.grad !== null);
  const norm = globalNorm(
    params_.map((p) => p.grad!),
    options.normType ?? 2,
    'clipGradNorm',
  );
  return applyClip(params_, maxNorm, norm, options, 'clipGradNorm');
}

/**
 * `clipGradNorm` for any backend (GPU ones included): the norm is read with `await`, once per
 * call, and the gradients are scaled on the device.
 */
export async function clipGradNormAsync(
  params: ParameterSource,
  maxNorm: number,
  options: ClipGradNormOptions = {},
): Promise<number> {
  checkNumber('clipGradNormAsync', 'maxNorm', maxNorm, { min: 0 });
  const params_ = namedParametersOf('clipGradNormAsync', params)
    .map(([, p]) => p)
    .filter((p) => p.grad !== null);
  const norm = await globalNormAsync(
    params_.map((p) => p.grad!),
    options.normType ?? 2,
    'clipGradNormAsync',
  );
  return applyClip(params_, maxNorm, norm, options, 'clipGradNormAsync');
}

function applyClip(
  params_: Tensor[],
  maxNorm: number,
  norm: number,
  options: ClipGradNormOptions,
  where: string,
): number {
  if (!Number.isFinite(norm) && options.errorIfNonfinite) {
    throw new TrainError(
      describe(
        where,
        'a finite total gradient norm',
        String(norm),
        'The loss or a gradient overflowed: lower the learning rate, check the data for NaN, or clip by value first.',
      ),
    );
  }
  const coef = maxNorm / (norm + 1e-6);
  if (coef < 1) scaleGrads(params_, coef);
  return norm;
}

function scaleGrads(params: Tensor[], coef: number): void {
  noGrad(() => {
    for (const p of params) {
      const g = p.grad!;
      const scaled = tidy(() => g.mul(coef));
      p.grad = keep(scaled);
      g.dispose();
    }
  });
}

/** Clamps every gradient of `params` to [-clipValue, clipValue] in place, as `torch.nn.utils.clip_grad_value_`. */
export function clipGradValue(params: ParameterSource, clipValue: number): void {
  checkNumber('clipGradValue', 'clipValue', clipValue, { min: 0 });
  noGrad(() => {
    for (const [, p] of namedParametersOf('clipGradValue', params)) {
      const g = p.grad;
      if (!g) continue;
      const clamped = tidy(() => minimum(maximum(g, -clipValue), clipValue));
      p.grad = keep(clamped);
      g.dispose();
    }
  });
}
