import type { DType, ReduceOp } from '@recur/tensor';
import { wgslType } from '../wgsl.js';
import { declarations, LINEAR_INDEX, MAIN_1D, P, planBindings, slotsKey } from './common.js';
import type { KernelSpec } from './elementwise.js';

/** Rows at least this long are reduced by a whole workgroup each (a tree in workgroup memory). */
export const TREE_MIN_SIZE = 128;
const TREE_WG = 256;
const NONE = 2147483647;

/**
 * `better(v, i, best, bi)`: whether candidate (v, i) replaces (best, bi). NaN wins over numbers
 * (max/min propagate NaN as the reference does), ties and NaN pairs keep the lower index.
 */
function betterFn(op: ReduceOp, t: 'f32' | 'i32'): string {
  const cmp = op === 'max' || op === 'argmax' ? '>' : '<';
  if (t === 'i32') {
    return `fn better(v: i32, i: i32, best: i32, bi: i32) -> bool {
  if (bi == ${NONE}) { return true; }
  if (i == ${NONE}) { return false; }
  return v ${cmp} best || (v == best && i < bi);
}`;
  }
  return `fn isnan_(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn better(v: f32, i: i32, best: f32, bi: i32) -> bool {
  if (bi == ${NONE}) { return true; }
  if (i == ${NONE}) { return false; }
  let nv = isnan_(v); let nb = isnan_(best);
  if (nv || nb) { return nv && (!nb || i < bi); }
  return v ${cmp} best || (v == best && i < bi);
}`;
}

/**
 * Reduction of an input viewed as [outer, size, inner] over its middle axis. Short rows: one
 * invocation per output walks its row. Long rows: one workgroup per output, each invocation
 * folding a strided subset, then a tree in workgroup memory. Sums wrap in i32; arg* write i32.
 */
export function reduceKernel<B>(
  op: ReduceOp,
  input: B,
  out: B,
  dtype: DType,
  outer: number,
  size: number,
  inner: number,
): KernelSpec<B> {
  const t = wgslType(dtype);
  const outT = op === 'argmax' || op === 'argmin' ? 'i32' : t;
  const { slots, index } = planBindings([
    { buffer: input, dtype, write: false },
    { buffer: out, dtype: outT, write: true },
  ]);
  const [bi, bo] = index as [number, number];
  const count = outer * inner;
  const tree = size >= TREE_MIN_SIZE;
  const params = [count, size, inner];
  const key = `reduce|${op}|${tree ? 'tree' : 'row'}|${slotsKey(slots, index)}`;
  const isSum = op === 'sum';
  const isArg = op === 'argmax' || op === 'argmin';
  const zero = t === 'f32' ? '0.0' : '0';
  const result = isArg ? 'bi' : isSum ? 'acc' : 'best';
  const source = (): string => {
    const head = `${declarations(slots, params.length)}
${isSum ? '' : betterFn(op, t)}`;
    if (!tree) {
      return `${head}
${MAIN_1D} {
  let g = ${LINEAR_INDEX};
  if (g >= ${P(0)}) { return; }
  let size = ${P(1)}; let inner = ${P(2)};
  let o = g / inner; let i = g % inner;
  let base = o * size * inner + i;
  var acc = ${zero};
  var best = ${zero};
  var bi = ${NONE};
  for (var s = 0; s < size; s = s + 1) {
    let v = b${bi}[base + s * inner];
    ${isSum ? 'acc = acc + v;' : 'if (better(v, s, best, bi)) { best = v; bi = s; }'}
  }
  ${isArg ? 'if (bi == 2147483647) { bi = 0; }' : ''}
  b${bo}[g] = ${result};
}`;
    }
    return `${head}
var<workgroup> sv: array<${t}, ${TREE_WG}>;
var<workgroup> si: array<i32, ${TREE_WG}>;
@compute @workgroup_size(${TREE_WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let g = i32(wg.x + wg.y * nwg.x);
  let tid = i32(lid.x);
  let size = ${P(1)}; let inner = ${P(2)};
  let o = g / inner; let i = g % inner;
  let base = o * size * inner + i;
  var acc = ${zero};
  var best = ${zero};
  var bi = ${NONE};
  if (g < ${P(0)}) {
    for (var s = tid; s < size; s = s + ${TREE_WG}) {
      let v = b${bi}[base + s * inner];
      ${isSum ? 'acc = acc + v;' : 'if (better(v, s, best, bi)) { best = v; bi = s; }'}
    }
  }
  sv[tid] = ${isSum ? 'acc' : 'best'};
  si[tid] = bi;
  workgroupBarrier();
  for (var w = ${TREE_WG / 2}; w > 0; w = w / 2) {
    if (tid < w) {
      ${
        isSum
          ? 'sv[tid] = sv[tid] + sv[tid + w];'
          : 'if (better(sv[tid + w], si[tid + w], sv[tid], si[tid])) { sv[tid] = sv[tid + w]; si[tid] = si[tid + w]; }'
      }
    }
    workgroupBarrier();
  }
  if (tid == 0 && g < ${P(0)}) {
    ${isArg ? `b${bo}[g] = select(si[0], 0, si[0] == 2147483647);` : `b${bo}[g] = sv[0];`}
  }
}`;
  };
  return tree
    ? { key, source, slots, params, groups: grid(count) }
    : { key, source, slots, params, threads: count };
}

/** A 2-D grid of `count` workgroups (WebGPU caps each dimension at 65535). */
export function grid(count: number): [number, number, number] {
  const x = Math.min(count, 65535);
  return [x, Math.ceil(count / x), 1];
}

/** out[o, j, i] = table[o, indices[j], i]; an index out of range writes 0 and is recorded in `status`. */
export function gatherKernel<B>(
  table: B,
  indices: B,
  out: B,
  status: B,
  dtype: DType,
  outer: number,
  axisSize: number,
  inner: number,
  count: number,
): KernelSpec<B> {
  const { slots, index } = planBindings([
    { buffer: table, dtype, write: false },
    { buffer: indices, dtype: 'i32', write: false },
    { buffer: out, dtype, write: true },
  ]);
  const [bt, bx, bo] = index as [number, number, number];
  const params = [outer * count * inner, axisSize, inner, count];
  const key = `gather|${slotsKey(slots, index)}`;
  const zero = wgslType(dtype) === 'f32' ? '0.0' : '0';
  const source = (): string => `${declarations(slots, params.length)}
${STATUS_DECL(slots.length + 1)}
${MAIN_1D} {
  let g = ${LINEAR_INDEX};
  if (g >= ${P(0)}) { return; }
  let axis = ${P(1)}; let inner = ${P(2)}; let count = ${P(3)};
  let i = g % inner; let r = g / inner; let j = r % count; let o = r / count;
  let ix = b${bx}[j];
  if (ix < 0 || ix >= axis) {
    if (i == 0 && o == 0) { report(${STATUS_GATHER}u, u32(j)); }
    b${bo}[g] = ${zero};
    return;
  }
  b${bo}[g] = b${bt}[(o * axis + ix) * inner + i];
}`;
  return {
    key,
    source,
    slots: [...slots, { buffer: status, dtype: 'i32', write: true }],
    params,
    threads: outer * count * inner,
  };
}

/**
 * out[o, indices[j], i] += updates[o, j, i]. One invocation per (o, i) walks j in order, so repeated
 * indices accumulate without atomics and in the same order as the reference (deterministic).
 */
export function scatterAddKernel<B>(
  out: B,
  indices: B,
  updates: B,
  status: B,
  dtype: DType,
  outer: number,
  axisSize: number,
  inner: number,
  count: number,
): KernelSpec<B> {
  const { slots, index } = planBindings([
    { buffer: updates, dtype, write: false },
    { buffer: indices, dtype: 'i32', write: false },
    { buffer: out, dtype, write: true },
  ]);
  const [bu, bx, bo] = index as [number, number, number];
  const params = [outer * inner, axisSize, inner, count];
  const key = `scatter|${slotsKey(slots, index)}`;
  const source = (): string => `${declarations(slots, params.length)}
${STATUS_DECL(slots.length + 1)}
${MAIN_1D} {
  let g = ${LINEAR_INDEX};
  if (g >= ${P(0)}) { return; }
  let axis = ${P(1)}; let inner = ${P(2)}; let count = ${P(3)};
  let i = g % inner; let o = g / inner;
  for (var j = 0; j < count; j = j + 1) {
    let ix = b${bx}[j];
    if (ix < 0 || ix >= axis) {
      if (g == 0) { report(${STATUS_SCATTER}u, u32(j)); }
      continue;
    }
    let d = (o * axis + ix) * inner + i;
    b${bo}[d] = b${bo}[d] + b${bu}[(o * count + j) * inner + i];
  }
}`;
  return {
    key,
    source,
    slots: [...slots, { buffer: status, dtype: 'i32', write: true }],
    params,
    threads: outer * inner,
  };
}

export const STATUS_GATHER = 1;
export const STATUS_SCATTER = 2;
/** Words of the status buffer: [bad index positions, op of the report, lowest bad position, unused]. */
export const STATUS_WORDS = 4;
export const STATUS_INIT = new Uint32Array([0, 0, 0xffffffff, 0]);

function STATUS_DECL(binding: number): string {
  return `@group(0) @binding(${binding}) var<storage, read_write> status: array<atomic<u32>>;
fn report(op: u32, pos: u32) {
  atomicAdd(&status[0], 1u);
  atomicMax(&status[1], op);
  atomicMin(&status[2], pos);
}`;
}
