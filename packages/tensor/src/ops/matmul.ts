import { apply } from '../apply.js';
import { DTypeError, ShapeError } from '../errors.js';
import { type OpDef, SAVES_INPUTS } from '../op.js';
import { broadcastShapes, fmt, type Shape, shapesEqual, sizeOf } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { broadcastTo } from './shape-ops.js';
import { sumToShape } from './util.js';

export interface MatmulAttrs {
  transA: boolean;
  transB: boolean;
}

function dims(shape: Shape, trans: boolean): [number, number] {
  const r = shape.length;
  return trans ? [shape[r - 1]!, shape[r - 2]!] : [shape[r - 2]!, shape[r - 1]!];
}

export const matmulOp: OpDef<MatmulAttrs> = {
  name: 'matmul',
  infer: ([a, b], { transA, transB }) => {
    for (const [t, n] of [
      [a!, 'a'],
      [b!, 'b'],
    ] as const) {
      if (t.shape.length < 2) {
        throw new ShapeError(
          `matmul: expected ${n} of rank >= 2, found shape ${fmt(t.shape)}. Reshape a vector to [1, n] or [n, 1].`,
        );
      }
    }
    if (a!.dtype !== b!.dtype || a!.dtype === 'i32') {
      throw new DTypeError(
        `matmul: expected two f32 or two f64 operands, found ${a!.dtype} and ${b!.dtype}. Cast them with .cast('f32').`,
      );
    }
    const [m, k] = dims(a!.shape, transA);
    const [k2, n] = dims(b!.shape, transB);
    if (k !== k2) {
      throw new ShapeError(
        `matmul: expected the inner dimensions to agree, found a ${fmt(a!.shape)}${transA ? 'ᵀ' : ''} (k=${k}) and b ${fmt(b!.shape)}${transB ? 'ᵀ' : ''} (k=${k2}). Transpose an operand or fix the layer sizes.`,
      );
    }
    const batch = broadcastShapes('matmul (batch dimensions)', a!.shape.slice(0, -2), b!.shape.slice(0, -2));
    return { shape: [...batch, m, n], dtype: a!.dtype };
  },
  run: (backend, [a, b], out, meta, { transA, transB }) => {
    const batchShape = meta.shape.slice(0, -2);
    const batch = sizeOf(batchShape);
    const [m, k] = dims(a!.shape, transA);
    const n = meta.shape[meta.shape.length - 1]!;
    const temps: Tensor[] = [];
    // An operand whose batch dims differ from the output's (and are not all 1) is materialised.
    const operand = (t: Tensor): [Tensor, number] => {
      const tb = t.shape.slice(0, -2);
      const mat = t.shape[t.shape.length - 2]! * t.shape[t.shape.length - 1]!;
      if (sizeOf(tb) === 1) return [t, 0];
      if (shapesEqual(tb, batchShape)) return [t, mat];
      const full = broadcastTo(t, [...batchShape, ...t.shape.slice(-2)]);
      temps.push(full);
      return [full, mat];
    };
    const [aa, aStride] = operand(a!);
    const [bb, bStride] = operand(b!);
    try {
      backend.matmul({
        a: aa.storage.buffer,
        b: bb.storage.buffer,
        out,
        batch,
        m,
        n,
        k,
        transA,
        transB,
        aOffset: 0,
        bOffset: 0,
        outOffset: 0,
        aBatchStride: aStride,
        bBatchStride: bStride,
        bias: null,
        accumulate: false,
      });
    } finally {
      for (const t of temps) t.dispose();
    }
  },
  saves: SAVES_INPUTS,
  vjp: (g, { inputs, attrs, needsGrad }) => {
    const [a, b] = inputs as [Tensor, Tensor];
    const { transA, transB } = attrs;
    let da: Tensor | null = null;
    let db: Tensor | null = null;
    if (needsGrad[0]) {
      da = transA ? matmul(b, g, { transA: transB, transB: true }) : matmul(g, b, { transB: !transB });
      da = sumToShape(da, a.shape);
    }
    if (needsGrad[1]) {
      db = transB ? matmul(g, a, { transA: true, transB: transA }) : matmul(a, g, { transA: !transA });
      db = sumToShape(db, b.shape);
    }
    return [da, db];
  },
};

/** Matrix product over the last two axes, batched and broadcast over the others. */
export function matmul(a: Tensor, b: Tensor, options: { transA?: boolean; transB?: boolean } = {}): Tensor {
  return apply(matmulOp, [a, b], { transA: options.transA ?? false, transB: options.transB ?? false });
}
