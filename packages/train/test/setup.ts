import { JsBackend } from '@recur/backend-js';
import { setBackend } from '@recur/tensor';

/** Every test file runs on the reference backend. */
export const backend = new JsBackend();
setBackend(backend);

/** Plain numbers of a tensor. */
export function values(t: { dataSync(): ArrayLike<number> }): number[] {
  return Array.from(t.dataSync());
}

/** Asserts two arrays agree element-wise within atol + rtol·|expected|. */
export function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  atol = 1e-12,
  rtol = 1e-12,
): void {
  if (actual.length !== expected.length) {
    throw new Error(`expected ${expected.length} values, found ${actual.length}`);
  }
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
      throw new Error(`element ${i}: expected ${e}, found ${a} (|diff| ${Math.abs(a - e)})`);
    }
  }
}

/** A small seeded generator for test data. */
export function mulberry(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
