import type { Backend } from './backend.js';
import { BackendError, RecurError } from './errors.js';
import { checkBackend } from './registry.js';
import { Tensor } from './tensor.js';

/**
 * Execution state of eager mode: the active backend, whether gradients are recorded, and the
 * stack of `tidy` scopes that dispose intermediate tensors deterministically.
 */
export class Engine {
  private active: Backend | null = null;
  private scopes: Set<Tensor>[] = [];
  gradEnabled = true;
  /** Tensors alive right now (created and not disposed), for leak checks. */
  liveTensors = 0;

  get backend(): Backend {
    if (!this.active) {
      throw new BackendError(
        'No backend is active: expected setBackend(...) before creating tensors, found none. Install @recur/backend-js and call setBackend(new JsBackend()).',
      );
    }
    return this.active;
  }

  hasBackend(): boolean {
    return this.active !== null;
  }

  setBackend(backend: Backend): void {
    checkBackend(backend);
    this.active = backend;
  }

  /** @internal Called by every tensor constructor. */
  track(t: Tensor): void {
    this.liveTensors++;
    const top = this.scopes[this.scopes.length - 1];
    if (top) top.add(t);
  }

  /** @internal Called by Tensor.dispose. */
  untrack(t: Tensor): void {
    for (let i = this.scopes.length - 1; i >= 0; i--) this.scopes[i]!.delete(t);
  }

  /**
   * Runs `fn`; every tensor created inside and not returned is disposed at the end. Returned
   * tensors (alone, in arrays or in plain objects) move to the enclosing scope.
   */
  tidy<T>(fn: () => T): T {
    const scope = new Set<Tensor>();
    this.scopes.push(scope);
    let result: T;
    try {
      result = fn();
      if (result instanceof Promise) {
        throw new RecurError(
          'tidy: expected a synchronous function, found one returning a Promise. Await outside tidy and dispose tensors explicitly.',
        );
      }
    } catch (err) {
      this.scopes.pop();
      for (const t of scope) t.dispose();
      throw err;
    }
    this.scopes.pop();
    const keep = new Set<Tensor>();
    collectTensors(result, keep);
    const parent = this.scopes[this.scopes.length - 1];
    for (const t of scope) {
      if (keep.has(t)) parent?.add(t);
      else t.dispose();
    }
    return result;
  }

  /** Removes a tensor from every open scope, so `tidy` will not dispose it. */
  keep<T extends Tensor>(t: T): T {
    this.untrack(t);
    return t;
  }

  /** Runs `fn` without recording gradients. */
  noGrad<T>(fn: () => T): T {
    const prev = this.gradEnabled;
    this.gradEnabled = false;
    try {
      return fn();
    } finally {
      this.gradEnabled = prev;
    }
  }

  /** Runs `fn` with `backend` active, restoring the previous one afterwards. */
  withBackend<T>(backend: Backend, fn: () => T): T {
    const prev = this.active;
    this.setBackend(backend);
    try {
      return fn();
    } finally {
      this.active = prev;
    }
  }
}

function collectTensors(value: unknown, out: Set<Tensor>, depth = 0): void {
  if (depth > 8 || value === null || typeof value !== 'object') return;
  if (value instanceof Tensor) {
    out.add(value);
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) collectTensors(v, out, depth + 1);
    return;
  }
  if (Object.getPrototypeOf(value) === Object.prototype || value instanceof Map) {
    const values = value instanceof Map ? value.values() : Object.values(value);
    for (const v of values) collectTensors(v, out, depth + 1);
  }
}

/** The engine used by the top-level functions of `@recur/tensor`. */
export const engine = new Engine();

export const tidy = <T>(fn: () => T): T => engine.tidy(fn);
export const noGrad = <T>(fn: () => T): T => engine.noGrad(fn);
export const keep = <T extends Tensor>(t: T): T => engine.keep(t);
export const setBackend = (backend: Backend): void => engine.setBackend(backend);
export const getBackend = (): Backend => engine.backend;
export const withBackend = <T>(backend: Backend, fn: () => T): T => engine.withBackend(backend, fn);
