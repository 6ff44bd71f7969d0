import { ShapeError } from './errors.js';

export type Shape = readonly number[];

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major (C-order) strides, in elements. */
export function stridesOf(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}

export function fmt(shape: Shape): string {
  return `[${shape.join(',')}]`;
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function assertShape(shape: unknown, where: string): number[] {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new ShapeError(
      `${where}: expected a shape as an array of non-negative integers, found ${JSON.stringify(shape)}.`,
    );
  }
  return shape as number[];
}

/** NumPy broadcasting of two shapes; names the op and both shapes when they do not broadcast. */
export function broadcastShapes(op: string, a: Shape, b: Shape): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(
        `${op}: expected shapes that broadcast (each trailing dimension equal or 1), found ${fmt(a)} and ${fmt(b)} (dimension ${i - n} is ${da} vs ${db}). Reshape or slice one operand so the dimensions match.`,
      );
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Strides to read `shape` as if broadcast to `target` (0 along broadcast dimensions). */
export function broadcastStrides(shape: Shape, target: Shape): number[] {
  const own = stridesOf(shape);
  const out = new Array<number>(target.length).fill(0);
  const off = target.length - shape.length;
  for (let i = 0; i < shape.length; i++) {
    out[off + i] = shape[i] === 1 && target[off + i] !== 1 ? 0 : own[i]!;
  }
  return out;
}

/** Resolves a possibly negative axis against a rank, with a clear error when out of range. */
export function normAxis(op: string, axis: number, rank: number, extra = 0): number {
  const r = rank + extra;
  if (!Number.isInteger(axis) || axis < -r || axis >= r) {
    throw new ShapeError(
      `${op}: expected an axis in [${-r}, ${r - 1}] for a tensor of rank ${rank}, found ${axis}.`,
    );
  }
  return axis < 0 ? axis + r : axis;
}

/** Normalises, sorts and de-duplicates reduction axes; undefined means all axes. */
export function normAxes(op: string, axes: number | readonly number[] | undefined, rank: number): number[] {
  if (axes === undefined) return Array.from({ length: rank }, (_, i) => i);
  const list = typeof axes === 'number' ? [axes] : axes;
  const out = [...new Set(list.map((a) => normAxis(op, a, rank)))].sort((x, y) => x - y);
  if (out.length !== list.length) {
    throw new ShapeError(`${op}: expected distinct axes, found ${JSON.stringify(list)}.`);
  }
  return out;
}
