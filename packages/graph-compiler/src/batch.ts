import type { GraphBuilder } from './builder.js';
import { isElementwise, type OpNode } from './ir.js';

const REDUCE = new Set(['sum', 'max', 'min', 'mean', 'logsumexp']);

/**
 * Whether `n` can run for all T steps at once given which of its inputs vary per step (a batched
 * value has a leading time axis). Ops outside this list stay inside the loop.
 */
export function batchable(n: OpNode, varying: readonly boolean[]): boolean {
  if (isElementwise(n) || REDUCE.has(n.op)) return true;
  switch (n.op) {
    case 'matmul':
    case 'reshape':
    case 'transpose':
    case 'slice':
    case 'pad':
    case 'broadcastTo':
    case 'argmax':
    case 'argmin':
    case 'softmax':
    case 'logSoftmax':
      return true;
    case 'concat':
      return varying.every(Boolean);
    default:
      return false;
  }
}

const norm = (axis: number, rank: number): number => (axis < 0 ? axis + rank : axis);

/**
 * Emits the batched form of op `n` into `b`: inputs marked `batched` carry a leading axis of size
 * `steps`, the others are the same for every step. The result is `[steps, ...n.shape]`.
 */
export function emitBatched(
  b: GraphBuilder,
  n: OpNode,
  inputs: readonly { readonly id: number; readonly batched: boolean }[],
  steps: number,
): number {
  const shapeOf = (id: number) => b.node(id).shape;
  const inRank = (k: number) => shapeOf(inputs[k]!.id).length - (inputs[k]!.batched ? 1 : 0);
  // A batched operand of lower rank than the result gets size-1 axes after the time axis, so
  // trailing-aligned broadcasting still pairs it with the right dimensions.
  const aligned = (k: number, rank: number): number => {
    const { id, batched } = inputs[k]!;
    if (!batched) return id;
    const s = shapeOf(id);
    const pad = rank - (s.length - 1);
    return pad > 0 ? b.reshape(id, [steps, ...new Array<number>(pad).fill(1), ...s.slice(1)]) : id;
  };
  const a = n.attrs as Record<string, unknown>;
  const ids = inputs.map((i) => i.id);
  const r = n.shape.length;
  if (isElementwise(n)) {
    return b.op(
      n.op,
      inputs.map((_, k) => aligned(k, r)),
      n.attrs as never,
    );
  }
  if (REDUCE.has(n.op)) {
    const rank = inRank(0);
    const axes = (a.axes as number[]).map((x) => norm(x, rank) + 1);
    return b.op(n.op as 'sum', ids, { axes, keepDims: a.keepDims as boolean });
  }
  switch (n.op) {
    case 'matmul': {
      const { transA, transB } = a as { transA: boolean; transB: boolean };
      const [x, w] = inputs as [{ id: number; batched: boolean }, { id: number; batched: boolean }];
      const xs = shapeOf(x.id);
      if (x.batched && !w.batched && !transA && xs.length === 3) {
        // [T,M,K]·W as one [T·M, K]·W GEMM.
        const flat = b.reshape(x.id, [steps * xs[1]!, xs[2]!]);
        const y = b.op('matmul', [flat, w.id], { transA, transB });
        return b.reshape(y, [steps, ...n.shape]);
      }
      return b.op('matmul', ids, { transA, transB });
    }
    case 'reshape':
      return b.op('reshape', ids, { shape: [steps, ...(a.shape as number[])] });
    case 'transpose':
      return b.op('transpose', ids, { perm: [0, ...(a.perm as number[]).map((p) => p + 1)] });
    case 'slice':
      return b.op('slice', ids, {
        begin: [0, ...(a.begin as number[])],
        end: [steps, ...(a.end as number[])],
      });
    case 'pad':
      return b.op('pad', ids, {
        pads: [[0, 0], ...(a.pads as [number, number][])],
        value: a.value as number,
      });
    case 'concat':
      return b.op('concat', ids, { axis: norm(a.axis as number, r) + 1 });
    case 'broadcastTo':
      return b.op('broadcastTo', [aligned(0, r)], { shape: [steps, ...(a.shape as number[])] });
    case 'argmax':
    case 'argmin':
      return b.op(n.op, ids, {
        axis: norm(a.axis as number, inRank(0)) + 1,
        keepDims: a.keepDims as boolean,
      });
    case 'softmax':
    case 'logSoftmax':
      return b.op(n.op, ids, { axis: norm(a.axis as number, r) + 1 });
    default:
      throw new Error(`emitBatched: ${n.op} is not batchable`);
  }
}

/**
 * Σ over the time axis of a batched value, reading through the ops that produced it where that
 * gives one GEMM instead of T: Σ_t A_tᵀ·B_t is one [T·K, M]ᵀ·[T·K, N] product (the weight
 * gradient of a recurrent layer), and sums of sums and of reshapes merge.
 */
export function sumOverSteps(b: GraphBuilder, id: number, steps: number): number {
  const n = b.node(id);
  if (n.kind === 'op') {
    if (n.op === 'matmul') {
      const { transA, transB } = n.attrs as { transA: boolean; transB: boolean };
      const [x, y] = n.inputs.map((i) => b.node(i)) as [(typeof b.nodes)[number], (typeof b.nodes)[number]];
      if (
        transA &&
        !transB &&
        x.shape.length === 3 &&
        y.shape.length === 3 &&
        x.shape[0] === steps &&
        y.shape[0] === steps
      ) {
        const fx = b.reshape(x.id, [steps * x.shape[1]!, x.shape[2]!]);
        const fy = b.reshape(y.id, [steps * y.shape[1]!, y.shape[2]!]);
        return b.op('matmul', [fx, fy], { transA: true, transB: false });
      }
    }
    if (n.op === 'add') {
      const [p, q] = n.inputs as [number, number];
      if (b.node(p).shape.join() === n.shape.join() && b.node(q).shape.join() === n.shape.join()) {
        return b.op('add', [sumOverSteps(b, p, steps), sumOverSteps(b, q, steps)], {});
      }
    }
    if (n.op === 'reshape') {
      const src = b.node(n.inputs[0]!);
      if (src.shape[0] === steps) return b.reshape(sumOverSteps(b, src.id, steps), n.shape.slice(1));
    }
    if (n.op === 'sum') {
      const { axes, keepDims } = n.attrs as { axes: number[]; keepDims: boolean };
      if (!axes.includes(0)) {
        const merged = b.op('sum', n.inputs, { axes: [0, ...axes], keepDims });
        return keepDims ? b.reshape(merged, n.shape.slice(1)) : merged;
      }
    }
  }
  return b.op('sum', [id], { axes: [0], keepDims: false });
}
