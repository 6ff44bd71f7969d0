import { apply } from '../apply.js';
import type { Backend, BackendBuffer, ReduceOp } from '../backend.js';
import { floatOf } from '../dtype.js';
import { ShapeError } from '../errors.js';
import { type OpDef, SAVES_INPUTS } from '../op.js';
import { fmt, normAxes, normAxis, type Shape, sizeOf, stridesOf } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { add, cast, div, eq, exp, log, mul, sub } from './elementwise.js';
import { broadcastTo, reshape } from './shape-ops.js';
import { sumOpRef } from './util.js';

export interface ReduceAttrs {
  axes: number[];
  keepDims: boolean;
}

function reducedShape(shape: Shape, axes: readonly number[], keepDims: boolean): number[] {
  const set = new Set(axes);
  return keepDims ? shape.map((d, i) => (set.has(i) ? 1 : d)) : shape.filter((_, i) => !set.has(i));
}

/**
 * Lowers a reduction over any axes to the backend's [outer, size, inner] primitive: contiguous
 * axes reduce in place; scattered axes are first moved to the end by a copy.
 */
function runReduce(
  backend: Backend,
  op: ReduceOp,
  x: Tensor,
  axes: readonly number[],
  out: BackendBuffer,
): void {
  const shape = x.shape;
  const contiguous = axes.every((a, i) => i === 0 || a === axes[i - 1]! + 1);
  if (axes.length === 0) {
    backend.copy({
      src: { buffer: x.storage.buffer, offset: 0, strides: [1] },
      out,
      outOffset: 0,
      outStrides: [1],
      shape: [x.size],
    });
    return;
  }
  if (contiguous) {
    const first = axes[0]!;
    const last = axes[axes.length - 1]!;
    backend.reduce({
      op,
      input: x.storage.buffer,
      out,
      outer: sizeOf(shape.slice(0, first)),
      size: sizeOf(shape.slice(first, last + 1)),
      inner: sizeOf(shape.slice(last + 1)),
    });
    return;
  }
  const kept = shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const perm = [...kept, ...axes];
  const s = stridesOf(shape);
  const permShape = perm.map((p) => shape[p]!);
  const tmp = backend.alloc(x.dtype, x.size);
  try {
    backend.copy({
      src: { buffer: x.storage.buffer, offset: 0, strides: perm.map((p) => s[p]!) },
      out: tmp,
      outOffset: 0,
      outStrides: stridesOf(permShape),
      shape: permShape,
    });
    backend.reduce({
      op,
      input: tmp,
      out,
      outer: sizeOf(kept.map((k) => shape[k]!)),
      size: sizeOf(axes.map((a) => shape[a]!)),
      inner: 1,
    });
  } finally {
    backend.free(tmp);
  }
}

function checkNonEmpty(name: string, shape: Shape, axes: readonly number[]): void {
  if (axes.some((a) => shape[a] === 0)) {
    throw new ShapeError(
      `${name}: expected non-empty reduced axes, found shape ${fmt(shape)}; the ${name} of nothing is undefined.`,
    );
  }
}

export const sumOp: OpDef<ReduceAttrs> = {
  name: 'sum',
  infer: ([x], { axes, keepDims }) => ({ shape: reducedShape(x!.shape, axes, keepDims), dtype: x!.dtype }),
  run: (backend, [x], out, _meta, { axes }) => runReduce(backend, 'sum', x!, axes, out),
  saves: SAVES_INPUTS,
  vjp: (g, { inputs, attrs }) => {
    const x = inputs[0]!;
    return [broadcastTo(reshape(g, reducedShape(x.shape, attrs.axes, true)), x.shape)];
  },
};
sumOpRef.op = sumOp;

function extremum(name: 'max' | 'min'): OpDef<ReduceAttrs> {
  return {
    name,
    infer: ([x], { axes, keepDims }) => {
      checkNonEmpty(name, x!.shape, axes);
      return { shape: reducedShape(x!.shape, axes, keepDims), dtype: x!.dtype };
    },
    run: (backend, [x], out, _meta, { axes }) => runReduce(backend, name, x!, axes, out),
    // The gradient goes to the extreme elements, split evenly among ties (as PyTorch's amax).
    vjp: (g, { inputs, output, attrs }) => {
      const x = inputs[0]!;
      const keepShape = reducedShape(x.shape, attrs.axes, true);
      const mask = cast(eq(x, reshape(output, keepShape)), g.dtype);
      const count = sum(mask, attrs.axes, true);
      return [mul(div(mask, count), reshape(g, keepShape))];
    },
  };
}
export const maxOp = extremum('max');
export const minOp = extremum('min');

function argExtremum(name: 'argmax' | 'argmin'): OpDef<{ axis: number; keepDims: boolean }> {
  return {
    name,
    infer: ([x], { axis, keepDims }) => {
      checkNonEmpty(name, x!.shape, [axis]);
      return { shape: reducedShape(x!.shape, [axis], keepDims), dtype: 'i32' };
    },
    run: (backend, [x], out, _meta, { axis }) => runReduce(backend, name, x!, [axis], out),
  };
}
export const argmaxOp = argExtremum('argmax');
export const argminOp = argExtremum('argmin');

export const meanOp: OpDef<ReduceAttrs> = {
  name: 'mean',
  infer: ([x], { axes, keepDims }) => ({
    shape: reducedShape(x!.shape, axes, keepDims),
    dtype: floatOf(x!.dtype),
  }),
  decompose: ([x], { axes, keepDims }) => {
    const n = sizeOf(axes.map((a) => x!.shape[a]!));
    const xf = x!.dtype === 'i32' ? cast(x!, 'f32') : x!;
    return div(sum(xf, axes, keepDims), n);
  },
};

/** log Σ exp(x), computed stably: the max is subtracted first and treated as a constant. */
export const logsumexpOp: OpDef<ReduceAttrs> = {
  name: 'logsumexp',
  infer: ([x], { axes, keepDims }) => {
    checkNonEmpty('logsumexp', x!.shape, axes);
    return { shape: reducedShape(x!.shape, axes, keepDims), dtype: floatOf(x!.dtype) };
  },
  decompose: ([x], { axes, keepDims }) => {
    const m = max(x!, axes, true).detach();
    const lse = add(log(sum(exp(sub(x!, m)), axes, true)), m);
    return keepDims ? lse : reshape(lse, reducedShape(x!.shape, axes, false));
  },
};

type Axes = number | readonly number[] | undefined;

export function sum(x: Tensor, axes?: Axes, keepDims = false): Tensor {
  return apply(sumOp, [x], { axes: normAxes('sum', axes, x.shape.length), keepDims });
}
export function mean(x: Tensor, axes?: Axes, keepDims = false): Tensor {
  return apply(meanOp, [x], { axes: normAxes('mean', axes, x.shape.length), keepDims });
}
export function max(x: Tensor, axes?: Axes, keepDims = false): Tensor {
  return apply(maxOp, [x], { axes: normAxes('max', axes, x.shape.length), keepDims });
}
export function min(x: Tensor, axes?: Axes, keepDims = false): Tensor {
  return apply(minOp, [x], { axes: normAxes('min', axes, x.shape.length), keepDims });
}
export function logsumexp(x: Tensor, axes?: Axes, keepDims = false): Tensor {
  return apply(logsumexpOp, [x], { axes: normAxes('logsumexp', axes, x.shape.length), keepDims });
}
/** Index of the largest element along `axis` (the first on ties), as i32. */
export function argmax(x: Tensor, axis = -1, keepDims = false): Tensor {
  return apply(argmaxOp, [x], { axis: normAxis('argmax', axis, x.shape.length), keepDims });
}
export function argmin(x: Tensor, axis = -1, keepDims = false): Tensor {
  return apply(argminOp, [x], { axis: normAxis('argmin', axis, x.shape.length), keepDims });
}
