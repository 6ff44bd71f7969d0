import { Tensor } from '@recur/tensor';
import { CellsError, describe, fmtShape } from './errors.js';

/** Throws unless `value` is a Tensor. */
export function expectTensor(where: string, name: string, value: unknown): asserts value is Tensor {
  if (!(value instanceof Tensor)) {
    const found = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
    throw new CellsError(
      describe(where, `${name} to be a Tensor`, found, 'Create it with tensor(...) from @recur/tensor.'),
    );
  }
}

/** Throws unless `t` has exactly `shape`; `layout` names the axes, e.g. `[numLayers·numDirections, B, H]`. */
export function expectShape(
  where: string,
  name: string,
  t: Tensor,
  shape: readonly number[],
  layout: string,
): void {
  const same = t.shape.length === shape.length && t.shape.every((d, i) => d === shape[i]);
  if (!same) {
    throw new CellsError(
      describe(where, `${name} of shape ${fmtShape(shape)} (${layout})`, fmtShape(t.shape)),
    );
  }
}

/** Throws unless `t` has the parameters' dtype and backend. */
export function expectLike(where: string, name: string, t: Tensor, param: Tensor): void {
  if (t.dtype !== param.dtype) {
    throw new CellsError(
      describe(
        where,
        `${name} of dtype ${param.dtype} (the parameters' dtype)`,
        t.dtype,
        `Cast it with .cast('${param.dtype}'), or build the module with { dtype: '${t.dtype === 'i32' ? 'f32' : t.dtype}' }.`,
      ),
    );
  }
  if (t.backend !== param.backend) {
    throw new CellsError(
      describe(
        where,
        `${name} on backend '${param.backend.name}' (the parameters' backend)`,
        `'${t.backend.name}'`,
        'Create inputs and the module on one backend.',
      ),
    );
  }
}
