import { backward } from '../autograd.js';
import type { Backend } from '../backend.js';
import { fromData } from '../creation.js';
import type { AnyTypedArray, DType } from '../dtype.js';
import { engine } from '../engine.js';
import { RecurError } from '../errors.js';
import { mul } from '../ops/elementwise.js';
import { sum } from '../ops/reduce.js';
import { Rng } from '../random.js';
import { fmt } from '../shape.js';
import type { Tensor } from '../tensor.js';

export interface GradInput {
  readonly shape: readonly number[];
  readonly values: readonly number[];
  /** Integer inputs (indices, masks) are passed through and not differentiated. */
  readonly dtype?: DType;
}

export interface GradCheckOptions {
  /** Floating dtype for differentiated inputs: f64 by default (central differences need it). */
  readonly dtype?: 'f32' | 'f64';
  readonly eps?: number;
  readonly atol?: number;
  readonly rtol?: number;
  /** Seed of the random cotangent that turns a tensor output into a scalar. */
  readonly seed?: number;
  readonly backend?: Backend;
}

export interface GradCheckResult {
  readonly ok: boolean;
  /** Largest |analytic − numeric| − rtol·|numeric| over all elements (≤ atol when ok). */
  readonly worst: number;
  readonly failures: readonly string[];
}

async function read(t: Tensor): Promise<AnyTypedArray> {
  return t.data();
}

/**
 * Compares the gradients that autograd computes for `fn` with central finite differences.
 * The output is contracted with a fixed random cotangent, so every output element is checked.
 */
export async function checkGradients(
  fn: (...inputs: Tensor[]) => Tensor,
  inputs: readonly GradInput[],
  options: GradCheckOptions = {},
): Promise<GradCheckResult> {
  const dtype = options.dtype ?? 'f64';
  const eps = options.eps ?? (dtype === 'f64' ? 1e-6 : 1e-2);
  const atol = options.atol ?? (dtype === 'f64' ? 1e-7 : 1e-2);
  const rtol = options.rtol ?? (dtype === 'f64' ? 1e-5 : 5e-2);
  const run = <T>(f: () => T): T => (options.backend ? engine.withBackend(options.backend, f) : f());

  const make = (values: readonly number[], spec: GradInput, grad: boolean): Tensor =>
    run(() => fromData([...values], spec.shape, { dtype: spec.dtype ?? dtype, requiresGrad: grad }));
  const differentiable = inputs.map((s) => (s.dtype ?? dtype) !== 'i32');

  // Analytic gradients.
  const leaves = inputs.map((s, i) => make(s.values, s, differentiable[i]!));
  const probe = run(() => engine.noGrad(() => fn(...leaves)));
  const rng = new Rng(options.seed ?? 7);
  const cotangentValues = Array.from({ length: probe.size }, () => rng.uniform() - 0.5);
  const outShape = probe.shape;
  probe.dispose();
  const cot = make(cotangentValues, { shape: outShape, values: cotangentValues }, false);
  const loss = (ts: Tensor[]): Tensor => sum(mul(fn(...ts), cot));

  const analytic: (AnyTypedArray | null)[] = [];
  run(() => {
    const l = engine.tidy(() => loss(leaves));
    if (l.requiresGrad) backward(l);
    l.dispose();
  });
  for (let i = 0; i < leaves.length; i++) {
    const g = leaves[i]!.grad;
    analytic.push(
      differentiable[i] ? (g ? await read(g) : new Float64Array(inputs[i]!.values.length)) : null,
    );
  }
  for (const t of leaves) t.dispose();

  // Numeric gradients.
  const evalAt = async (which: number, index: number, delta: number): Promise<number> => {
    const ts = inputs.map((s, i) => {
      const values = [...s.values];
      if (i === which) values[index] = values[index]! + delta;
      return make(values, s, false);
    });
    const l = run(() => engine.noGrad(() => engine.tidy(() => loss(ts))));
    const v = (await read(l))[0]!;
    l.dispose();
    for (const t of ts) t.dispose();
    return v;
  };

  const failures: string[] = [];
  let worst = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < inputs.length; i++) {
    const a = analytic[i];
    if (!a) continue;
    for (let j = 0; j < inputs[i]!.values.length; j++) {
      const numeric = ((await evalAt(i, j, eps)) - (await evalAt(i, j, -eps))) / (2 * eps);
      const err = Math.abs(a[j]! - numeric) - rtol * Math.abs(numeric);
      worst = Math.max(worst, err);
      if (!(err <= atol)) {
        failures.push(
          `input ${i} ${fmt(inputs[i]!.shape)} element ${j}: autograd ${a[j]}, finite differences ${numeric}`,
        );
      }
    }
  }
  cot.dispose();
  return { ok: failures.length === 0, worst, failures };
}

/** Like checkGradients, but throws a RecurError listing the first disagreements. */
export async function assertGradients(
  fn: (...inputs: Tensor[]) => Tensor,
  inputs: readonly GradInput[],
  options: GradCheckOptions = {},
): Promise<void> {
  const result = await checkGradients(fn, inputs, options);
  if (!result.ok) {
    throw new RecurError(
      `gradient check: expected autograd to match central differences, found ${result.failures.length} mismatches:\n  ${result.failures.slice(0, 5).join('\n  ')}`,
    );
  }
}
