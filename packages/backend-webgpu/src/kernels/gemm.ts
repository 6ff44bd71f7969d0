import type { DType } from '@recur/tensor';
import { declarations, P, planBindings, slotsKey } from './common.js';
import type { KernelSpec } from './elementwise.js';

export interface GemmOperands<B> {
  readonly a: B;
  readonly b: B;
  readonly out: B;
  readonly bias: B | null;
}

export interface GemmShape {
  readonly batch: number;
  readonly m: number;
  readonly n: number;
  readonly k: number;
  readonly transA: boolean;
  readonly transB: boolean;
  readonly aOffset: number;
  readonly bOffset: number;
  readonly outOffset: number;
  readonly aBatchStride: number;
  readonly bBatchStride: number;
  readonly biasOffset: number;
  readonly accumulate: boolean;
}

/** Threads per side of a GEMM workgroup (16 × 16 = 256 invocations). */
const SIDE = 16;
/** Depth of a K tile held in workgroup memory. */
const BK = 16;

/**
 * Register tile per thread (t × t outputs, a (16·t)² output tile per workgroup): the largest that
 * still gives the device enough workgroups to fill it; small products use small tiles.
 */
export function gemmTile(s: Pick<GemmShape, 'batch' | 'm' | 'n'>, minGroups: number): 1 | 2 | 4 {
  for (const t of [4, 2] as const) {
    const tiles = Math.ceil(s.m / (SIDE * t)) * Math.ceil(s.n / (SIDE * t)) * s.batch;
    if (tiles >= minGroups) return t;
  }
  return s.m * s.n * s.batch >= 64 * 64 ? 2 : 1;
}

/**
 * A tiled GEMM: out[z][m×n] (+)= op(A)[m×k] · op(B)[k×n] (+ bias[n]) for batch index z. A K tile of
 * each operand is staged in workgroup memory (loads coalesced along the operand's contiguous axis
 * whatever its transposition), each thread accumulates a t×t register block, and the epilogue
 * adds the bias and the previous output in registers before one store.
 */
export function gemmKernel<B>(
  ops: GemmOperands<B>,
  dtype: DType,
  s: GemmShape,
  tile: 1 | 2 | 4,
  maxGroupsPerDim: number,
): KernelSpec<B> {
  const operands = [
    { buffer: ops.a, dtype, write: false },
    { buffer: ops.b, dtype, write: false },
    { buffer: ops.out, dtype, write: true },
    ...(ops.bias ? [{ buffer: ops.bias, dtype, write: false }] : []),
  ];
  const { slots, index } = planBindings(operands);
  const [ia, ib, io] = index as [number, number, number];
  const ibias = index[3];
  const BM = SIDE * tile;
  const BN = SIDE * tile;
  const params = [
    s.m,
    s.n,
    s.k,
    s.aOffset,
    s.bOffset,
    s.outOffset,
    s.aBatchStride,
    s.bBatchStride,
    s.biasOffset,
  ];
  const gx = Math.ceil(s.n / BN);
  const gy = Math.ceil(s.m / BM);
  if (gx > maxGroupsPerDim || gy > maxGroupsPerDim || s.batch > maxGroupsPerDim) {
    throw new Error(
      `gemm: ${s.batch}×[${s.m}×${s.n}] needs ${gx}×${gy}×${s.batch} workgroups, more than the device allows per dimension (${maxGroupsPerDim}).`,
    );
  }
  const key = `gemm|${tile}|${s.transA ? 'T' : 'N'}${s.transB ? 'T' : 'N'}|${ops.bias ? 'b' : ''}${s.accumulate ? 'a' : ''}|${slotsKey(slots, index)}`;
  const source = (): string => {
    const loadsA = (BM * BK) / (SIDE * SIDE);
    const loadsB = (BN * BK) / (SIDE * SIDE);
    // Element (row r of op(A), depth q): A stored [m×k], or [k×m] when transposed.
    const aLoad = s.transA
      ? `let q = f / ${BM}; let r = f % ${BM};
      let gr = row0 + r; let gq = k0 + q;
      var v = 0.0;
      if (gr < M && gq < K) { v = b${ia}[aBase + gq * M + gr]; }
      As[q * ${BM} + r] = v;`
      : `let r = f / ${BK}; let q = f % ${BK};
      let gr = row0 + r; let gq = k0 + q;
      var v = 0.0;
      if (gr < M && gq < K) { v = b${ia}[aBase + gr * K + gq]; }
      As[q * ${BM} + r] = v;`;
    // Element (depth q, column c of op(B)): B stored [k×n], or [n×k] when transposed.
    const bLoad = s.transB
      ? `let c = f / ${BK}; let q = f % ${BK};
      let gc = col0 + c; let gq = k0 + q;
      var v = 0.0;
      if (gc < N && gq < K) { v = b${ib}[bBase + gc * K + gq]; }
      Bs[q * ${BN} + c] = v;`
      : `let q = f / ${BN}; let c = f % ${BN};
      let gc = col0 + c; let gq = k0 + q;
      var v = 0.0;
      if (gc < N && gq < K) { v = b${ib}[bBase + gq * N + gc]; }
      Bs[q * ${BN} + c] = v;`;
    const T = tile;
    const accDecl = Array.from({ length: T * T }, (_, i) => `var acc${i} = 0.0;`).join(' ');
    const inner = [
      ...Array.from({ length: T }, (_, i) => `let a${i} = As[q * ${BM} + ty * ${T} + ${i}];`),
      ...Array.from({ length: T }, (_, j) => `let w${j} = Bs[q * ${BN} + tx * ${T} + ${j}];`),
      ...Array.from({ length: T * T }, (_, x) => {
        const i = Math.floor(x / T);
        const j = x % T;
        return `acc${x} = fma(a${i}, w${j}, acc${x});`;
      }),
    ].join('\n        ');
    const stores = Array.from({ length: T * T }, (_, x) => {
      const i = Math.floor(x / T);
      const j = x % T;
      return `{
    let r = row0 + ty * ${T} + ${i}; let c = col0 + tx * ${T} + ${j};
    if (r < M && c < N) {
      let o = oBase + r * N + c;
      var v = acc${x};
      ${ops.bias ? `v = v + b${ibias}[${P(8)} + c];` : ''}
      ${s.accumulate ? `v = v + b${io}[o];` : ''}
      b${io}[o] = v;
    }
  }`;
    }).join('\n  ');
    return `${declarations(slots, params.length)}
var<workgroup> As: array<f32, ${BM * BK}>;
var<workgroup> Bs: array<f32, ${BN * BK}>;
@compute @workgroup_size(${SIDE}, ${SIDE})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let M = ${P(0)}; let N = ${P(1)}; let K = ${P(2)};
  let z = i32(wg.z);
  let aBase = ${P(3)} + z * ${P(6)};
  let bBase = ${P(4)} + z * ${P(7)};
  let oBase = ${P(5)} + z * M * N;
  let row0 = i32(wg.y) * ${BM};
  let col0 = i32(wg.x) * ${BN};
  let tx = i32(lid.x); let ty = i32(lid.y);
  let tid = ty * ${SIDE} + tx;
  ${accDecl}
  for (var k0 = 0; k0 < K; k0 = k0 + ${BK}) {
    for (var e = 0; e < ${loadsA}; e = e + 1) {
      let f = tid + e * ${SIDE * SIDE};
      ${aLoad}
    }
    for (var e = 0; e < ${loadsB}; e = e + 1) {
      let f = tid + e * ${SIDE * SIDE};
      ${bLoad}
    }
    workgroupBarrier();
    for (var q = 0; q < ${BK}; q = q + 1) {
        ${inner}
    }
    workgroupBarrier();
  }
  ${stores}
}`;
  };
  return { key, source, slots, params, groups: [gx, gy, s.batch] };
}

/** Threads per side of a workgroup of the direct GEMM. */
const DSIDE = 8;

/**
 * A GEMM without workgroup memory or barriers: each invocation reads its rows of op(A) and
 * columns of op(B) straight from storage and accumulates a t×t block. Slower than the tiled kernel
 * on GPUs, much faster on CPU drivers (SwiftShader), where a workgroup barrier is expensive.
 */
export function gemmDirectKernel<B>(
  ops: GemmOperands<B>,
  dtype: DType,
  s: GemmShape,
  tile: 1 | 2 | 4,
  maxGroupsPerDim: number,
): KernelSpec<B> {
  const operands = [
    { buffer: ops.a, dtype, write: false },
    { buffer: ops.b, dtype, write: false },
    { buffer: ops.out, dtype, write: true },
    ...(ops.bias ? [{ buffer: ops.bias, dtype, write: false }] : []),
  ];
  const { slots, index } = planBindings(operands);
  const [ia, ib, io] = index as [number, number, number];
  const ibias = index[3];
  const BM = DSIDE * tile;
  const params = [
    s.m,
    s.n,
    s.k,
    s.aOffset,
    s.bOffset,
    s.outOffset,
    s.aBatchStride,
    s.bBatchStride,
    s.biasOffset,
  ];
  const gx = Math.ceil(s.n / BM);
  const gy = Math.ceil(s.m / BM);
  if (gx > maxGroupsPerDim || gy > maxGroupsPerDim || s.batch > maxGroupsPerDim) {
    throw new Error(
      `gemm: ${s.batch}×[${s.m}×${s.n}] needs ${gx}×${gy}×${s.batch} workgroups, more than the device allows per dimension (${maxGroupsPerDim}).`,
    );
  }
  const key = `gemmd|${tile}|${s.transA ? 'T' : 'N'}${s.transB ? 'T' : 'N'}|${ops.bias ? 'b' : ''}${s.accumulate ? 'a' : ''}|${slotsKey(slots, index)}`;
  const T = tile;
  const source = (): string => {
    // Rows clamp to the last valid one, so loads stay in range; their results are not stored.
    const aAt = (i: number) => (s.transA ? `aBase + q * M + r${i}` : `aBase + r${i} * K + q`);
    const bAt = (j: number) => (s.transB ? `bBase + c${j} * K + q` : `bBase + q * N + c${j}`);
    const lines = [
      ...Array.from({ length: T }, (_, i) => `let r${i} = min(row0 + ${i}, M - 1);`),
      ...Array.from({ length: T }, (_, j) => `let c${j} = min(col0 + ${j}, N - 1);`),
      ...Array.from({ length: T * T }, (_, x) => `var acc${x} = 0.0;`),
    ].join('\n  ');
    const inner = [
      ...Array.from({ length: T }, (_, i) => `let a${i} = b${ia}[${aAt(i)}];`),
      ...Array.from({ length: T }, (_, j) => `let w${j} = b${ib}[${bAt(j)}];`),
      ...Array.from({ length: T * T }, (_, x) => `acc${x} = fma(a${Math.floor(x / T)}, w${x % T}, acc${x});`),
    ].join('\n    ');
    const stores = Array.from({ length: T * T }, (_, x) => {
      const i = Math.floor(x / T);
      const j = x % T;
      return `if (row0 + ${i} < M && col0 + ${j} < N) {
    let o = oBase + (row0 + ${i}) * N + col0 + ${j};
    var v = acc${x};
    ${ops.bias ? `v = v + b${ibias}[${P(8)} + col0 + ${j}];` : ''}
    ${s.accumulate ? `v = v + b${io}[o];` : ''}
    b${io}[o] = v;
  }`;
    }).join('\n  ');
    return `${declarations(slots, params.length)}
@compute @workgroup_size(${DSIDE}, ${DSIDE})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let M = ${P(0)}; let N = ${P(1)}; let K = ${P(2)};
  let z = i32(wg.z);
  let aBase = ${P(3)} + z * ${P(6)};
  let bBase = ${P(4)} + z * ${P(7)};
  let oBase = ${P(5)} + z * M * N;
  let row0 = i32(wg.y) * ${BM} + i32(lid.y) * ${T};
  let col0 = i32(wg.x) * ${BM} + i32(lid.x) * ${T};
  ${lines}
  for (var q = 0; q < K; q = q + 1) {
    ${inner}
  }
  ${stores}
}`;
  };
  return { key, source, slots, params, groups: [gx, gy, s.batch] };
}
