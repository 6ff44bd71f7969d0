import { JsBackend } from '@recur/backend-js';
import { Rng, setBackend, type Tensor } from '@recur/tensor';
import { expect } from 'vitest';

export function useJsBackend(): JsBackend {
  const backend = new JsBackend();
  setBackend(backend);
  return backend;
}

/** Catches the error `fn` throws (failing if it does not). */
export function caught(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    if (e instanceof Error) return e;
    throw new Error(`threw a non-Error: ${String(e)}`);
  }
  throw new Error('expected a throw, found none');
}

/** Largest |a − b| over two tensors (or arrays) of one shape. */
export function maxAbsDiff(a: Tensor | ArrayLike<number>, b: Tensor | ArrayLike<number>): number {
  const x = 'dataSync' in a ? a.dataSync() : a;
  const y = 'dataSync' in b ? b.dataSync() : b;
  expect(x.length).toBe(y.length);
  let worst = 0;
  for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!));
  return worst;
}

export function expectClose(actual: Tensor, expected: Tensor, atol: number, what = ''): void {
  expect(actual.shape, `${what} shape`).toEqual(expected.shape);
  const d = maxAbsDiff(actual, expected);
  expect(d, `${what}: max |difference| ${d} > ${atol}`).toBeLessThanOrEqual(atol);
}

/** `n` values uniform in [-scale, scale), seeded. */
export function values(rng: Rng, n: number, scale = 1): number[] {
  return Array.from({ length: n }, () => (rng.uniform() * 2 - 1) * scale);
}

export const seeded = (seed: number): Rng => new Rng(seed);
