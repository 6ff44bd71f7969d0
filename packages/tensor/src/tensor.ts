import type { Backend } from './backend.js';
import { type AnyTypedArray, type DType, isFloat } from './dtype.js';
import { engine } from './engine.js';
import { DisposedError, GradError, RecurError } from './errors.js';
import type { GradNode } from './grad-node.js';
import { fmt, type Shape, sizeOf, stridesOf } from './shape.js';
import type { Storage } from './storage.js';

let nextId = 1;

/** Shape and dtype: what shape rules compute and what the graph compiler records. */
export interface TensorMeta {
  readonly shape: Shape;
  readonly dtype: DType;
}

export type NestedArray = number | NestedArray[];

/**
 * An n-dimensional array on a backend. Tensors are immutable values (except through `assign`),
 * row-major and dense. They hold device memory: free them with `dispose()` or create them inside
 * `tidy(() => ...)`, which disposes what it does not return.
 */
export class Tensor implements TensorMeta {
  readonly id = nextId++;
  readonly size: number;
  /** Set by `requiresGrad_()` or a creation option; gradients flow to such tensors. */
  requiresGrad = false;
  /** The autograd node that produced this tensor, or null for leaves and constants. */
  gradFn: GradNode | null = null;
  /** Accumulated gradient of a leaf after `backward()`. */
  grad: Tensor | null = null;
  private _storage: Storage | null;

  /** @internal Use the creation functions (`tensor`, `zeros`, ...) instead. */
  constructor(
    storage: Storage,
    readonly shape: Shape,
    readonly dtype: DType,
  ) {
    this._storage = storage;
    this.size = sizeOf(shape);
    engine.track(this);
  }

  /** @internal A new tensor object on the same storage (one more reference). */
  static share(t: Tensor, shape: Shape = t.shape): Tensor {
    return new Tensor(t.storage.retain(), shape, t.dtype);
  }

  get storage(): Storage {
    if (!this._storage) {
      throw new DisposedError(
        `Tensor#${this.id} ${fmt(this.shape)} ${this.dtype}: expected a live tensor, found one already disposed. Keep it (return it from tidy, or call keep()) or stop using it after dispose().`,
      );
    }
    return this._storage;
  }

  get backend(): Backend {
    return this.storage.backend;
  }

  get rank(): number {
    return this.shape.length;
  }

  get strides(): number[] {
    return stridesOf(this.shape);
  }

  get isDisposed(): boolean {
    return this._storage === null;
  }

  /** Marks this tensor as a leaf that collects gradients in `.grad`. */
  requiresGrad_(flag = true): this {
    if (flag && !isFloat(this.dtype)) {
      throw new GradError(
        `requiresGrad_: expected a floating-point tensor (f32 or f64), found ${this.dtype}. Cast it first with .cast('f32').`,
      );
    }
    if (this.gradFn && !flag) {
      throw new GradError(
        'requiresGrad_(false): this tensor was produced by an op; use .detach() to stop gradients.',
      );
    }
    this.requiresGrad = flag;
    return this;
  }

  /** A tensor on the same storage that does not track gradients. */
  detach(): Tensor {
    return Tensor.share(this);
  }

  /** Frees this tensor's reference to its memory; the memory goes when no tensor or graph needs it. */
  dispose(): void {
    if (!this._storage) return;
    engine.untrack(this);
    engine.liveTensors--;
    const storage = this._storage;
    this._storage = null;
    if (this.grad) {
      this.grad.dispose();
      this.grad = null;
    }
    if (this.gradFn) {
      const node = this.gradFn;
      this.gradFn = null;
      node.unref();
    }
    storage.release();
  }

  /** Clears `.grad` (disposing it). */
  zeroGrad(): void {
    if (this.grad) {
      this.grad.dispose();
      this.grad = null;
    }
  }

  /** Reads the values (a copy), waiting for queued work. Works on every backend. */
  async data(): Promise<AnyTypedArray> {
    return this.backend.read(this.storage.buffer);
  }

  /** Reads the values synchronously; only CPU backends support it. */
  dataSync(): AnyTypedArray {
    const backend = this.backend;
    if (!backend.readSync) {
      throw new RecurError(
        `dataSync: expected a backend with synchronous reads, found '${backend.name}'. Use 'await tensor.data()' instead.`,
      );
    }
    return backend.readSync(this.storage.buffer);
  }

  /** Nested arrays of numbers, matching the shape. */
  async array(): Promise<NestedArray> {
    return toNested(await this.data(), this.shape);
  }

  arraySync(): NestedArray {
    return toNested(this.dataSync(), this.shape);
  }

  /** The single value of a one-element tensor, read synchronously. */
  item(): number {
    if (this.size !== 1) {
      throw new RecurError(
        `item: expected a tensor with exactly one element, found shape ${fmt(this.shape)} (${this.size} elements). Reduce it first, e.g. .sum().`,
      );
    }
    return this.dataSync()[0]!;
  }

  /**
   * Overwrites the values in place with `value` (same shape; cast to this dtype). Used by optimizers.
   * Autograd refuses to backpropagate through graphs that saved this tensor's old values.
   */
  assign(value: Tensor | AnyTypedArray): this {
    const storage = this.storage;
    if (value instanceof Tensor) {
      if (
        value.size !== this.size ||
        value.shape.length !== this.shape.length ||
        value.shape.some((d, i) => d !== this.shape[i])
      ) {
        throw new RecurError(
          `assign: expected a value of shape ${fmt(this.shape)}, found ${fmt(value.shape)}. Reshape or broadcast it first.`,
        );
      }
      if (value.backend !== this.backend) {
        throw new RecurError(
          `assign: expected a value on backend '${this.backend.name}', found '${value.backend.name}'.`,
        );
      }
      if (value.storage === storage) return this;
      const src = value.dtype === this.dtype ? value : engine.noGrad(() => castFn(value, this.dtype));
      this.backend.copy({
        src: { buffer: src.storage.buffer, offset: 0, strides: [1] },
        out: storage.buffer,
        outOffset: 0,
        outStrides: [1],
        shape: [this.size],
      });
      if (src !== value) src.dispose();
    } else {
      if (value.length !== this.size) {
        throw new RecurError(`assign: expected ${this.size} values, found ${value.length}.`);
      }
      this.backend.write(storage.buffer, convert(value, this.dtype));
    }
    storage.version++;
    return this;
  }

  toString(): string {
    const head = `Tensor ${fmt(this.shape)} ${this.dtype}${this.requiresGrad ? ' requiresGrad' : ''}`;
    if (this.isDisposed) return `${head} (disposed)`;
    if (!this.backend.readSync) return head;
    const values = Array.from(this.dataSync().slice(0, 12)).map((v) => +v.toPrecision(5));
    return `${head} [${values.join(', ')}${this.size > 12 ? ', ...' : ''}]`;
  }
}

let castFn: (t: Tensor, dtype: DType) => Tensor = () => {
  throw new Error('ops not installed');
};
/** @internal Breaks the import cycle between Tensor and the op modules. */
export function installCast(fn: (t: Tensor, dtype: DType) => Tensor): void {
  castFn = fn;
}

export function convert(data: AnyTypedArray | readonly number[], dtype: DType): AnyTypedArray {
  if (dtype === 'f32') return data instanceof Float32Array ? data : Float32Array.from(data);
  if (dtype === 'f64') return data instanceof Float64Array ? data : Float64Array.from(data);
  return data instanceof Int32Array ? data : Int32Array.from(data, (v) => Math.trunc(v));
}

function toNested(data: AnyTypedArray, shape: Shape): NestedArray {
  if (shape.length === 0) return data[0]!;
  const build = (dim: number, offset: number): NestedArray[] => {
    const n = shape[dim]!;
    const stride = sizeOf(shape.slice(dim + 1));
    const out: NestedArray[] = [];
    for (let i = 0; i < n; i++) {
      out.push(dim === shape.length - 1 ? data[offset + i]! : build(dim + 1, offset + i * stride));
    }
    return out;
  };
  return build(0, 0);
}
