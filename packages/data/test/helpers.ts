import { JsBackend } from '@recur/backend-js';
import { setBackend, type Tensor } from '@recur/tensor';

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

/** Catches the error an async `fn` rejects with (failing if it does not). */
export async function caughtAsync(fn: () => Promise<unknown>): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof Error) return e;
    throw new Error(`threw a non-Error: ${String(e)}`);
  }
  throw new Error('expected a rejection, found none');
}

/** A tensor's values as a plain number array. */
export function values(t: Tensor): number[] {
  return Array.from(t.dataSync());
}

/** Cuts a byte array at the given (sorted, deduplicated) positions. */
export function cutBytes(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => Math.min(bytes.length, Math.max(0, c))))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(bytes.subarray(prev, p));
    prev = p;
  }
  out.push(bytes.subarray(prev));
  return out;
}

/** Collects an async iterable. */
export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}
