import { DTypeError } from './errors.js';

/** Element types. f64 exists for gradient checks and reference computations. */
export type DType = 'f32' | 'f64' | 'i32';

export const DTYPES: readonly DType[] = ['f32', 'f64', 'i32'];

export type TypedArrayFor<D extends DType> = D extends 'f32'
  ? Float32Array
  : D extends 'f64'
    ? Float64Array
    : Int32Array;

export type AnyTypedArray = Float32Array | Float64Array | Int32Array;

export function isFloat(dtype: DType): boolean {
  return dtype !== 'i32';
}

export function bytesPerElement(dtype: DType): number {
  return dtype === 'f64' ? 8 : 4;
}

export function allocTyped(dtype: DType, size: number): AnyTypedArray {
  switch (dtype) {
    case 'f32':
      return new Float32Array(size);
    case 'f64':
      return new Float64Array(size);
    case 'i32':
      return new Int32Array(size);
  }
}

export function dtypeOfArray(data: AnyTypedArray): DType {
  if (data instanceof Float32Array) return 'f32';
  if (data instanceof Float64Array) return 'f64';
  return 'i32';
}

const RANK: Record<DType, number> = { i32: 0, f32: 1, f64: 2 };

/** Type promotion for binary ops: i32 < f32 < f64 (as NumPy and PyTorch promote). */
export function promote(a: DType, b: DType): DType {
  return RANK[a] >= RANK[b] ? a : b;
}

/** The dtype a float-valued unary op (exp, tanh, ...) returns for an input dtype. */
export function floatOf(dtype: DType): DType {
  return dtype === 'i32' ? 'f32' : dtype;
}

export function assertDType(value: unknown, where: string): DType {
  if (value === 'f32' || value === 'f64' || value === 'i32') return value;
  throw new DTypeError(
    `${where}: expected a dtype of 'f32', 'f64' or 'i32', found ${JSON.stringify(value)}. Pass one of those names.`,
  );
}
