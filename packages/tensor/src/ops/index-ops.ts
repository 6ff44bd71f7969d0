import { apply } from '../apply.js';
import { DTypeError, ShapeError } from '../errors.js';
import { type OpDef, SAVES_INPUTS } from '../op.js';
import { fmt, normAxis, shapesEqual, sizeOf } from '../shape.js';
import type { Tensor, TensorMeta } from '../tensor.js';
import { zerosLike } from './fill.js';

export interface AxisAttrs {
  axis: number;
}

function gatherShape(x: TensorMeta, indices: TensorMeta, axis: number): number[] {
  return [...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)];
}

function checkIndices(op: string, indices: TensorMeta): void {
  if (indices.dtype !== 'i32') {
    throw new DTypeError(
      `${op}: expected i32 indices, found ${indices.dtype}. Create them with dtype 'i32' or .cast('i32').`,
    );
  }
}

function split3(shape: readonly number[], axis: number): { outer: number; axisSize: number; inner: number } {
  return {
    outer: sizeOf(shape.slice(0, axis)),
    axisSize: shape[axis]!,
    inner: sizeOf(shape.slice(axis + 1)),
  };
}

/** out = x indexed along `axis` by `indices` (any shape); an embedding lookup with axis 0. */
export const gatherOp: OpDef<AxisAttrs> = {
  name: 'gather',
  infer: ([x, indices], { axis }) => {
    checkIndices('gather', indices!);
    return { shape: gatherShape(x!, indices!, axis), dtype: x!.dtype };
  },
  run: (backend, [x, indices], out, _meta, { axis }) => {
    backend.gather({
      table: x!.storage.buffer,
      indices: indices!.storage.buffer,
      out,
      ...split3(x!.shape, axis),
    });
  },
  saves: SAVES_INPUTS,
  vjp: (g, { inputs, attrs }) => [scatterAdd(zerosLike(inputs[0]!), inputs[1]!, g, attrs.axis), null],
};

/** out = x, then out[..., indices[j], ...] += updates[..., j, ...] along `axis` (repeats add up). */
export const scatterAddOp: OpDef<AxisAttrs> = {
  name: 'scatterAdd',
  infer: ([x, indices, updates], { axis }) => {
    checkIndices('scatterAdd', indices!);
    const expected = gatherShape(x!, indices!, axis);
    if (!shapesEqual(expected, updates!.shape)) {
      throw new ShapeError(
        `scatterAdd: expected updates of shape ${fmt(expected)} (x ${fmt(x!.shape)} with indices ${fmt(indices!.shape)} on axis ${axis}), found ${fmt(updates!.shape)}.`,
      );
    }
    if (updates!.dtype !== x!.dtype) {
      throw new DTypeError(`scatterAdd: expected updates of dtype ${x!.dtype}, found ${updates!.dtype}.`);
    }
    return { shape: x!.shape, dtype: x!.dtype };
  },
  run: (backend, [x, indices, updates], out, _meta, { axis }) => {
    backend.copy({
      src: { buffer: x!.storage.buffer, offset: 0, strides: [1] },
      out,
      outOffset: 0,
      outStrides: [1],
      shape: [x!.size],
    });
    backend.scatterAdd({
      out,
      indices: indices!.storage.buffer,
      updates: updates!.storage.buffer,
      ...split3(x!.shape, axis),
    });
  },
  saves: SAVES_INPUTS,
  vjp: (g, { inputs, attrs }) => [g, null, gather(g, inputs[1]!, attrs.axis)],
};

export function gather(x: Tensor, indices: Tensor, axis = 0): Tensor {
  return apply(gatherOp, [x, indices], { axis: normAxis('gather', axis, x.shape.length) });
}

export function scatterAdd(x: Tensor, indices: Tensor, updates: Tensor, axis = 0): Tensor {
  return apply(scatterAddOp, [x, indices, updates], { axis: normAxis('scatterAdd', axis, x.shape.length) });
}
