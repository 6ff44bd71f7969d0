import { apply } from '../apply.js';
import type { DType } from '../dtype.js';
import { ex } from '../expr.js';
import type { OpDef } from '../op.js';
import { assertShape } from '../shape.js';
import type { Tensor } from '../tensor.js';

/** A constant tensor on the active backend. */
export const fullOp: OpDef<{ shape: number[]; value: number; dtype: DType }> = {
  name: 'full',
  infer: (_inputs, { shape, dtype }) => ({ shape: assertShape(shape, 'full'), dtype }),
  expr: (_inputs, { value, dtype }) => ex.const(value, dtype),
};

/** A constant tensor shaped like (and on the backend of) its input, whose values it ignores. */
export const fullLikeOp: OpDef<{ value: number; dtype: DType }> = {
  name: 'fullLike',
  infer: ([x], { dtype }) => ({ shape: x!.shape, dtype }),
  expr: (_inputs, { value, dtype }) => ex.const(value, dtype),
};

export function full(shape: readonly number[], value: number, dtype: DType = 'f32'): Tensor {
  return apply(fullOp, [], { shape: [...shape], value, dtype });
}
export function fullLike(x: Tensor, value: number, dtype: DType = x.dtype): Tensor {
  return apply(fullLikeOp, [x], { value, dtype });
}
export const zerosLike = (x: Tensor): Tensor => fullLike(x, 0);
export const onesLike = (x: Tensor): Tensor => fullLike(x, 1);
