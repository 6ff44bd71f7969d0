import type { Backend } from './backend.js';
import { type AnyTypedArray, assertDType, type DType, dtypeOfArray } from './dtype.js';
import { engine } from './engine.js';
import { RecurError, ShapeError } from './errors.js';
import { full, fullLike } from './ops/fill.js';
import { Rng } from './random.js';
import { assertShape, fmt, sizeOf } from './shape.js';
import { Storage } from './storage.js';
import { convert, type NestedArray, Tensor } from './tensor.js';

export interface CreateOptions {
  readonly dtype?: DType;
  /** Make the tensor a leaf that collects gradients. */
  readonly requiresGrad?: boolean;
  /** Defaults to the active backend. */
  readonly backend?: Backend;
}

export interface RandomOptions extends CreateOptions {
  /** A seed or a generator; required, so every random tensor is reproducible. */
  readonly seed: number | Rng;
}

function finish(t: Tensor, options: CreateOptions): Tensor {
  if (options.requiresGrad) t.requiresGrad_();
  return t;
}

/** Uploads host data as a new tensor. */
export function fromData(
  data: AnyTypedArray | readonly number[],
  shape: readonly number[],
  options: CreateOptions = {},
): Tensor {
  const s = assertShape([...shape], 'tensor');
  const dtype = options.dtype
    ? assertDType(options.dtype, 'tensor')
    : Array.isArray(data)
      ? 'f32'
      : dtypeOfArray(data as AnyTypedArray);
  if (data.length !== sizeOf(s)) {
    throw new ShapeError(`tensor: expected ${sizeOf(s)} values for shape ${fmt(s)}, found ${data.length}.`);
  }
  const backend = options.backend ?? engine.backend;
  const buffer = backend.alloc(dtype, data.length);
  backend.write(buffer, convert(data, dtype));
  return finish(new Tensor(new Storage(backend, buffer), s, dtype), options);
}

/**
 * Creates a tensor from a number, nested arrays, or a typed array (then `shape` is required).
 * The dtype defaults to f32, or to the typed array's own type.
 */
export function tensor(
  values: NestedArray | AnyTypedArray,
  shapeOrOptions?: readonly number[] | CreateOptions,
  maybeOptions: CreateOptions = {},
): Tensor {
  const shape = Array.isArray(shapeOrOptions) ? (shapeOrOptions as readonly number[]) : undefined;
  const options =
    (Array.isArray(shapeOrOptions) ? maybeOptions : (shapeOrOptions as CreateOptions | undefined)) ?? {};
  if (ArrayBuffer.isView(values)) {
    return fromData(values as AnyTypedArray, shape ?? [(values as AnyTypedArray).length], options);
  }
  const inferred = inferShape(values);
  const flat: number[] = [];
  flatten(values, inferred, 0, flat);
  return fromData(flat, shape ?? inferred, options);
}

function inferShape(v: NestedArray): number[] {
  const shape: number[] = [];
  let cur: NestedArray = v;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    if (cur.length === 0) break;
    cur = cur[0]!;
  }
  return shape;
}

function flatten(v: NestedArray, shape: readonly number[], dim: number, out: number[]): void {
  if (dim === shape.length) {
    if (typeof v !== 'number') {
      throw new ShapeError(
        `tensor: expected a number at depth ${dim} (nested arrays must be rectangular), found ${Array.isArray(v) ? 'an array' : typeof v}.`,
      );
    }
    out.push(v);
    return;
  }
  if (!Array.isArray(v) || v.length !== shape[dim]) {
    throw new ShapeError(
      `tensor: expected rectangular nested arrays of shape ${fmt(shape)}, found ${Array.isArray(v) ? `length ${v.length}` : 'a number'} at depth ${dim}.`,
    );
  }
  for (const item of v) flatten(item, shape, dim + 1, out);
}

function onBackend<T>(options: CreateOptions, fn: () => T): T {
  return options.backend ? engine.withBackend(options.backend, fn) : fn();
}

export function zeros(shape: readonly number[], options: CreateOptions = {}): Tensor {
  return finish(
    onBackend(options, () => full(shape, 0, options.dtype ?? 'f32')),
    options,
  );
}
export function ones(shape: readonly number[], options: CreateOptions = {}): Tensor {
  return finish(
    onBackend(options, () => full(shape, 1, options.dtype ?? 'f32')),
    options,
  );
}
export function fill(shape: readonly number[], value: number, options: CreateOptions = {}): Tensor {
  return finish(
    onBackend(options, () => full(shape, value, options.dtype ?? 'f32')),
    options,
  );
}
export { fullLike };

function rngOf(seed: number | Rng): Rng {
  return seed instanceof Rng ? seed : new Rng(seed);
}

function requireSeed(op: string, options: RandomOptions | undefined): void {
  if (!options || options.seed === undefined) {
    throw new RecurError(
      `${op}: expected a seed ({ seed: 42 } or an Rng), found none. Recur's random tensors are always reproducible.`,
    );
  }
}

/** Fills a tensor with `draw(rng)` per element, on the host, so values never depend on the backend. */
function sampled(
  op: string,
  shape: readonly number[],
  options: RandomOptions,
  draw: (rng: Rng) => number,
): Tensor {
  requireSeed(op, options);
  const rng = rngOf(options.seed);
  const data = new Float64Array(sizeOf(assertShape([...shape], op)));
  for (let i = 0; i < data.length; i++) data[i] = draw(rng);
  return fromData(data, shape, { ...options, dtype: options.dtype ?? 'f32' });
}

/** Normal samples with the given mean and standard deviation. */
export function randn(
  shape: readonly number[],
  options: RandomOptions & { mean?: number; std?: number },
): Tensor {
  const mean = options?.mean ?? 0;
  const std = options?.std ?? 1;
  return sampled('randn', shape, options, (rng) => mean + std * rng.normal());
}

/** Uniform samples in [low, high). */
export function rand(
  shape: readonly number[],
  options: RandomOptions & { low?: number; high?: number },
): Tensor {
  const low = options?.low ?? 0;
  const high = options?.high ?? 1;
  return sampled('rand', shape, options, (rng) => low + (high - low) * rng.uniform());
}

/** start, start+step, ... below stop (like Python's range); dtype i32 for integer arguments. */
export function arange(start: number, stop?: number, step = 1, options: CreateOptions = {}): Tensor {
  const [a, b] = stop === undefined ? [0, start] : [start, stop];
  if (step === 0 || !Number.isFinite(step))
    throw new RecurError(`arange: expected a non-zero finite step, found ${step}.`);
  const n = Math.max(0, Math.ceil((b - a) / step));
  const values = Array.from({ length: n }, (_, i) => a + i * step);
  const dtype = options.dtype ?? ([a, b, step].every(Number.isInteger) ? 'i32' : 'f32');
  return fromData(values, [n], { ...options, dtype });
}

/** @internal 0..n-1 as i32, on the backend of `like`. */
export function arangeLike(like: Tensor, n: number): Tensor {
  return arange(0, n, 1, { dtype: 'i32', backend: like.backend });
}

/** Identity matrix [n, m]. */
export function eye(n: number, m = n, options: CreateOptions = {}): Tensor {
  const data = new Float64Array(n * m);
  for (let i = 0; i < Math.min(n, m); i++) data[i * m + i] = 1;
  return fromData(data, [n, m], { ...options, dtype: options.dtype ?? 'f32' });
}
