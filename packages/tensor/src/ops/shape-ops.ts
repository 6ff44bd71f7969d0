import { apply } from '../apply.js';
import { ShapeError } from '../errors.js';
import { ex } from '../expr.js';
import { type OpDef, SAVES_INPUTS, SAVES_NOTHING } from '../op.js';
import { broadcastShapes, broadcastStrides, fmt, normAxis, type Shape, sizeOf, stridesOf } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { reshapeOpRef, sumToShape } from './util.js';

/** Resolves one -1 in a target shape and checks the element count. */
function resolveShape(op: string, from: Shape, to: readonly number[]): number[] {
  const unknown = to.filter((d) => d === -1).length;
  if (unknown > 1 || to.some((d) => !Number.isInteger(d) || d < -1)) {
    throw new ShapeError(
      `${op}: expected a shape of non-negative integers with at most one -1, found ${fmt(to)}.`,
    );
  }
  const known = to.reduce((p, d) => (d === -1 ? p : p * d), 1);
  const total = sizeOf(from);
  const out = to.map((d) => (d === -1 ? (known === 0 ? 0 : total / known) : d));
  if (sizeOf(out) !== total || out.some((d) => !Number.isInteger(d))) {
    throw new ShapeError(
      `${op}: expected a shape with ${total} elements (the input is ${fmt(from)}), found ${fmt(to)} (${known}${unknown ? '·?' : ''} elements).`,
    );
  }
  return out;
}

export const reshapeOp: OpDef<{ shape: number[] }> = {
  name: 'reshape',
  alias: true,
  infer: ([x], { shape }) => ({ shape: resolveShape('reshape', x!.shape, shape), dtype: x!.dtype }),
  saves: SAVES_INPUTS,
  vjp: (g, { inputs }) => [reshape(g, [...inputs[0]!.shape])],
};
reshapeOpRef.op = reshapeOp;

export const transposeOp: OpDef<{ perm: number[] }> = {
  name: 'transpose',
  infer: ([x], { perm }) => {
    const r = x!.shape.length;
    if (perm.length !== r || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) {
      throw new ShapeError(
        `transpose: expected a permutation of [0..${r - 1}] for shape ${fmt(x!.shape)}, found ${JSON.stringify(perm)}.`,
      );
    }
    return { shape: perm.map((p) => x!.shape[p]!), dtype: x!.dtype };
  },
  run: (backend, [x], out, meta, { perm }) => {
    const s = stridesOf(x!.shape);
    backend.copy({
      src: { buffer: x!.storage.buffer, offset: 0, strides: perm.map((p) => s[p]!) },
      out,
      outOffset: 0,
      outStrides: stridesOf(meta.shape),
      shape: meta.shape,
    });
  },
  saves: SAVES_NOTHING,
  vjp: (g, { attrs }) => {
    const inv = new Array<number>(attrs.perm.length);
    attrs.perm.forEach((p, i) => {
      inv[p] = i;
    });
    return [transpose(g, inv)];
  },
};

export const sliceOp: OpDef<{ begin: number[]; end: number[] }> = {
  name: 'slice',
  infer: ([x], { begin, end }) => {
    const r = x!.shape.length;
    if (begin.length !== r || end.length !== r) {
      throw new ShapeError(
        `slice: expected begin and end with ${r} entries for shape ${fmt(x!.shape)}, found ${begin.length} and ${end.length}.`,
      );
    }
    const shape = begin.map((b, i) => {
      const d = x!.shape[i]!;
      const e = end[i]!;
      if (!(Number.isInteger(b) && Number.isInteger(e) && 0 <= b && b <= e && e <= d)) {
        throw new ShapeError(
          `slice: expected 0 <= begin <= end <= ${d} on axis ${i} of shape ${fmt(x!.shape)}, found begin ${b}, end ${e}.`,
        );
      }
      return e - b;
    });
    return { shape, dtype: x!.dtype };
  },
  run: (backend, [x], out, meta, { begin }) => {
    const s = stridesOf(x!.shape);
    backend.copy({
      src: { buffer: x!.storage.buffer, offset: begin.reduce((o, b, i) => o + b * s[i]!, 0), strides: s },
      out,
      outOffset: 0,
      outStrides: stridesOf(meta.shape),
      shape: meta.shape,
    });
  },
  saves: SAVES_INPUTS,
  vjp: (g, { inputs, attrs }) => [
    pad(
      g,
      attrs.begin.map((b, i) => [b, inputs[0]!.shape[i]! - attrs.end[i]!] as [number, number]),
    ),
  ],
};

export const padOp: OpDef<{ pads: [number, number][]; value: number }> = {
  name: 'pad',
  infer: ([x], { pads }) => {
    if (
      pads.length !== x!.shape.length ||
      pads.some((p) => p.length !== 2 || p.some((v) => !Number.isInteger(v) || v < 0))
    ) {
      throw new ShapeError(
        `pad: expected ${x!.shape.length} pairs [before, after] of non-negative integers for shape ${fmt(x!.shape)}, found ${JSON.stringify(pads)}.`,
      );
    }
    return { shape: x!.shape.map((d, i) => d + pads[i]![0] + pads[i]![1]), dtype: x!.dtype };
  },
  run: (backend, [x], out, meta, { pads, value }) => {
    if (value !== 0)
      backend.elementwise({ expr: ex.const(value, meta.dtype), inputs: [], out, shape: meta.shape });
    const os = stridesOf(meta.shape);
    backend.copy({
      src: { buffer: x!.storage.buffer, offset: 0, strides: stridesOf(x!.shape) },
      out,
      outOffset: pads.reduce((o, p, i) => o + p[0] * os[i]!, 0),
      outStrides: os,
      shape: x!.shape,
    });
  },
  saves: SAVES_INPUTS,
  vjp: (g, { inputs, attrs }) => {
    const begin = attrs.pads.map((p) => p[0]);
    return [
      slice(
        g,
        begin,
        begin.map((b, i) => b + inputs[0]!.shape[i]!),
      ),
    ];
  },
};

export const concatOp: OpDef<{ axis: number }> = {
  name: 'concat',
  infer: (inputs, { axis }) => {
    if (inputs.length === 0) throw new ShapeError('concat: expected at least one tensor, found none.');
    const first = inputs[0]!;
    const ax = normAxis('concat', axis, first.shape.length);
    let total = 0;
    for (const t of inputs) {
      const ok =
        t.shape.length === first.shape.length && t.shape.every((d, i) => i === ax || d === first.shape[i]);
      if (!ok) {
        throw new ShapeError(
          `concat: expected shapes equal except on axis ${ax}, found ${inputs.map((u) => fmt(u.shape)).join(' and ')}.`,
        );
      }
      if (t.dtype !== first.dtype) {
        throw new ShapeError(`concat: expected one dtype, found ${first.dtype} and ${t.dtype}. Cast first.`);
      }
      total += t.shape[ax]!;
    }
    const shape = [...first.shape];
    shape[ax] = total;
    return { shape, dtype: first.dtype };
  },
  run: (backend, inputs, out, meta, { axis }) => {
    const ax = normAxis('concat', axis, meta.shape.length);
    const os = stridesOf(meta.shape);
    let at = 0;
    for (const t of inputs) {
      backend.copy({
        src: { buffer: t.storage.buffer, offset: 0, strides: stridesOf(t.shape) },
        out,
        outOffset: at * os[ax]!,
        outStrides: os,
        shape: t.shape,
      });
      at += t.shape[ax]!;
    }
  },
  saves: SAVES_INPUTS,
  vjp: (g, { inputs, attrs }) => {
    const ax = normAxis('concat', attrs.axis, g.shape.length);
    let at = 0;
    return inputs.map((t) => {
      const begin = g.shape.map(() => 0);
      const end = [...g.shape];
      begin[ax] = at;
      at += t.shape[ax]!;
      end[ax] = at;
      return slice(g, begin, end);
    });
  },
};

export const broadcastToOp: OpDef<{ shape: number[] }> = {
  name: 'broadcastTo',
  infer: ([x], { shape }) => {
    const b = broadcastShapes('broadcastTo', x!.shape, shape);
    if (b.length !== shape.length || b.some((d, i) => d !== shape[i])) {
      throw new ShapeError(
        `broadcastTo: expected a shape that ${fmt(x!.shape)} broadcasts to, found ${fmt(shape)}.`,
      );
    }
    return { shape: [...shape], dtype: x!.dtype };
  },
  run: (backend, [x], out, meta) => {
    backend.copy({
      src: { buffer: x!.storage.buffer, offset: 0, strides: broadcastStrides(x!.shape, meta.shape) },
      out,
      outOffset: 0,
      outStrides: stridesOf(meta.shape),
      shape: meta.shape,
    });
  },
  saves: SAVES_INPUTS,
  vjp: (g, { inputs }) => [sumToShape(g, inputs[0]!.shape)],
};

export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  return apply(reshapeOp, [x], { shape: [...shape] });
}

/** Permutes axes; without `perm`, reverses them (a matrix transpose for rank 2). */
export function transpose(x: Tensor, perm?: readonly number[]): Tensor {
  const p = perm
    ? perm.map((a) => normAxis('transpose', a, x.shape.length))
    : x.shape.map((_, i) => x.shape.length - 1 - i);
  return apply(transposeOp, [x], { perm: p });
}

/**
 * The sub-tensor from `begin` (inclusive) to `end` (exclusive) on each axis. Negative values
 * count from the end; `end` defaults to the full extent.
 */
export function slice(x: Tensor, begin: readonly number[], end?: readonly (number | undefined)[]): Tensor {
  const r = x.shape.length;
  if (begin.length > r || (end && end.length > r)) {
    throw new ShapeError(
      `slice: expected at most ${r} begin/end entries for shape ${fmt(x.shape)}, found ${begin.length}.`,
    );
  }
  const norm = (v: number, d: number): number => (v < 0 ? v + d : v);
  const b = x.shape.map((d, i) => norm(begin[i] ?? 0, d));
  const e = x.shape.map((d, i) => norm(end?.[i] ?? d, d));
  return apply(sliceOp, [x], { begin: b, end: e });
}

export function pad(x: Tensor, pads: readonly (readonly [number, number])[], value = 0): Tensor {
  return apply(padOp, [x], { pads: pads.map((p) => [p[0], p[1]] as [number, number]), value });
}

export function concat(tensors: readonly Tensor[], axis = 0): Tensor {
  return apply(concatOp, tensors, { axis });
}

export function broadcastTo(x: Tensor, shape: readonly number[]): Tensor {
  return apply(broadcastToOp, [x], { shape: [...shape] });
}

/** Inserts a size-1 axis at `axis`. */
export function expandDims(x: Tensor, axis: number): Tensor {
  const ax = normAxis('expandDims', axis, x.shape.length, 1);
  const shape = [...x.shape];
  shape.splice(ax, 0, 1);
  return reshape(x, shape);
}

/** Removes size-1 axes (all of them, or the ones named). */
export function squeeze(x: Tensor, axes?: readonly number[]): Tensor {
  const drop = new Set(
    axes
      ? axes.map((a) => normAxis('squeeze', a, x.shape.length))
      : x.shape.flatMap((d, i) => (d === 1 ? [i] : [])),
  );
  for (const a of drop) {
    if (x.shape[a] !== 1) {
      throw new ShapeError(
        `squeeze: expected size 1 on axis ${a}, found ${x.shape[a]} in shape ${fmt(x.shape)}.`,
      );
    }
  }
  return reshape(
    x,
    x.shape.filter((_, i) => !drop.has(i)),
  );
}

/** Stacks equal-shaped tensors along a new axis. */
export function stack(tensors: readonly Tensor[], axis = 0): Tensor {
  if (tensors.length === 0) throw new ShapeError('stack: expected at least one tensor, found none.');
  const ax = normAxis('stack', axis, tensors[0]!.shape.length, 1);
  return concat(
    tensors.map((t) => expandDims(t, ax)),
    ax,
  );
}

/** Splits along `axis` into `sections` equal parts, or into parts of the given sizes. */
export function split(x: Tensor, sections: number | readonly number[], axis = 0): Tensor[] {
  const ax = normAxis('split', axis, x.shape.length);
  const d = x.shape[ax]!;
  let sizes: number[];
  if (typeof sections === 'number') {
    if (!Number.isInteger(sections) || sections <= 0 || d % sections !== 0) {
      throw new ShapeError(
        `split: expected a number of sections that divides ${d} (axis ${ax} of ${fmt(x.shape)}), found ${sections}. Pass explicit sizes instead.`,
      );
    }
    sizes = new Array<number>(sections).fill(d / sections);
  } else {
    sizes = [...sections];
    if (sizes.reduce((a, b) => a + b, 0) !== d || sizes.some((s) => !Number.isInteger(s) || s < 0)) {
      throw new ShapeError(
        `split: expected sizes that sum to ${d} (axis ${ax} of ${fmt(x.shape)}), found ${JSON.stringify(sizes)}.`,
      );
    }
  }
  let at = 0;
  return sizes.map((s) => {
    const begin = x.shape.map(() => 0);
    const end = [...x.shape];
    begin[ax] = at;
    at += s;
    end[ax] = at;
    return slice(x, begin, end);
  });
}

export function flatten(x: Tensor): Tensor {
  return reshape(x, [x.size]);
}
