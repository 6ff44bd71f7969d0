import { apply } from '../apply.js';
import type { DType } from '../dtype.js';
import { engine } from '../engine.js';
import type { OpDef } from '../op.js';
import { type Shape, shapesEqual, sizeOf } from '../shape.js';
import { Storage } from '../storage.js';
import { Tensor } from '../tensor.js';

/** A tensor, or a number that becomes a scalar of the other operand's dtype (NumPy's weak scalars). */
export type TensorLike = Tensor | number;

/** A 0-d tensor holding `value`, on the backend of `like` (or the active one). */
export function scalar(value: number, dtype: DType, like?: Tensor): Tensor {
  const backend = like ? like.backend : engine.backend;
  const buffer = backend.alloc(dtype, 1);
  const data =
    dtype === 'f32'
      ? new Float32Array([value])
      : dtype === 'f64'
        ? new Float64Array([value])
        : new Int32Array([value]);
  backend.write(buffer, data);
  return new Tensor(new Storage(backend, buffer), [], dtype);
}

/** Turns numbers into scalars matching the tensor operand; a non-integer with an i32 tensor becomes f32. */
export function lift(a: TensorLike, b: TensorLike): [Tensor, Tensor] {
  if (a instanceof Tensor && b instanceof Tensor) return [a, b];
  if (a instanceof Tensor) return [a, scalar(b as number, weakDType(b as number, a.dtype), a)];
  if (b instanceof Tensor) return [scalar(a, weakDType(a, b.dtype), b), b];
  return [scalar(a, 'f32'), scalar(b, 'f32')];
}

function weakDType(v: number, dtype: DType): DType {
  return dtype === 'i32' && !Number.isInteger(v) ? 'f32' : dtype;
}

/** Sums `g` down to `shape`, undoing broadcasting (the VJP of every broadcasting op). */
export function sumToShape(g: Tensor, shape: Shape): Tensor {
  if (shapesEqual(g.shape, shape)) return g;
  const extra = g.shape.length - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.shape.length; i++) {
    if (i < extra || (shape[i - extra] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  const summed = apply(sumOpRef.op!, [g], { axes, keepDims: true });
  return sizeOf(summed.shape) === sizeOf(shape) && summed.shape.length === shape.length
    ? summed
    : apply(reshapeOpRef.op!, [summed], { shape: [...shape] });
}

/** Late-bound references that break import cycles between op modules. */
export const sumOpRef: { op: OpDef<{ axes: number[]; keepDims: boolean }> | null } = { op: null };
export const reshapeOpRef: { op: OpDef<{ shape: number[] }> | null } = { op: null };
