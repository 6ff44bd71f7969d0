import { type DType, type Expr, exprKey } from '@recur/tensor';
import { EXPR_PRELUDE, exprsToWgsl } from '../wgsl.js';
import {
  type BindingSlot,
  declarations,
  LINEAR_INDEX,
  MAIN_1D,
  P,
  planBindings,
  slotsKey,
} from './common.js';

/** A view of one operand of an elementwise kernel: a buffer, an element offset, strides. */
export interface EwOperand<B> {
  readonly buffer: B;
  readonly dtype: DType;
  readonly offset: number;
  readonly strides: readonly number[];
}

/** Everything the backend needs to run one kernel: its identity, source, bindings and parameters. */
export interface KernelSpec<B> {
  /** Identity of the pipeline: equal keys mean equal WGSL source. */
  readonly key: string;
  readonly source: () => string;
  readonly slots: readonly BindingSlot<B>[];
  readonly params: readonly number[];
  /** Invocations of a 1-D kernel (one per element), or an explicit workgroup grid. */
  readonly threads?: number;
  readonly groups?: readonly [number, number, number];
}

type Layout = 'd' | 's' | 'x';

/** What a kernel needs to know about one expression tree, computed once per tree object. */
export interface ExprInfo {
  /** A small number standing for the tree's structure (equal trees, equal ids). */
  readonly id: number;
  /** Inputs the tree reads, ascending, and the dtype each is read as. */
  readonly reads: readonly number[];
  readonly readAs: ReadonlyMap<number, DType>;
  /** Whether any node computes in f64 (which WGSL lacks). */
  readonly f64: boolean;
}

// A compiled plan passes the same trees at every time step: analysing a tree (and hashing its
// text key, kilobytes for a fused backward kernel) once per object keeps per-dispatch work small.
const INFO = new WeakMap<Expr, ExprInfo>();
const IDS = new Map<string, number>();

export function exprInfo(e: Expr): ExprInfo {
  let info = INFO.get(e);
  if (info) return info;
  const key = exprKey(e);
  let id = IDS.get(key);
  if (id === undefined) {
    id = IDS.size;
    IDS.set(key, id);
  }
  const readAs = new Map<number, DType>();
  let f64 = false;
  const visit = (x: Expr): void => {
    if (x.dtype === 'f64') f64 = true;
    if (x.kind === 'input') readAs.set(x.index, x.dtype);
    else if (x.kind === 'unary' || x.kind === 'cast') visit(x.a);
    else if (x.kind === 'binary') {
      visit(x.a);
      visit(x.b);
    } else if (x.kind === 'where') {
      visit(x.cond);
      visit(x.a);
      visit(x.b);
    }
  };
  visit(e);
  info = { id, reads: [...readAs.keys()].sort((a, b) => a - b), readAs, f64 };
  INFO.set(e, info);
  return info;
}

/**
 * Merges adjacent dimensions that every operand walks contiguously and drops size-1 dimensions,
 * so that most kernels index with one linear offset (a dense [B, H] view becomes [B·H]).
 */
export function coalesce(
  shape: readonly number[],
  strides: readonly (readonly number[])[],
): { shape: number[]; strides: number[][] } {
  const keep = shape.map((_, d) => d).filter((d) => shape[d] !== 1);
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let q = keep.length - 1; q >= 0; q--) {
    const d = keep[q]!;
    const size = shape[d]!;
    const last = outShape.length - 1;
    const mergeable =
      last >= 0 && strides.every((s, k) => s[d]! === outStrides[k]![0]! * outShape[0]! && outShape[0]! > 0);
    if (mergeable && last >= 0) {
      outShape[0] = outShape[0]! * size;
    } else {
      outShape.unshift(size);
      for (let k = 0; k < strides.length; k++) outStrides[k]!.unshift(strides[k]![d]!);
    }
  }
  return { shape: outShape, strides: outStrides };
}

function layoutOf(shape: readonly number[], strides: readonly number[]): Layout {
  if (strides.every((s) => s === 0)) return 's';
  let expect = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (strides[d] !== expect) return 'x';
    expect *= shape[d]!;
  }
  return 'd';
}

/**
 * An elementwise kernel over `shape`: outputs[k] = exprs[k](inputs...), each operand read or written
 * through its own offset and strides (broadcast = stride 0). Shared subexpressions are computed
 * once; inputs that no expression reads are not bound.
 */
export function elementwiseKernel<B>(
  exprs: readonly Expr[],
  inputs: readonly EwOperand<B>[],
  outputs: readonly EwOperand<B>[],
  shape: readonly number[],
): KernelSpec<B> {
  const infos = exprs.map(exprInfo);
  let readIds = infos[0]!.reads;
  if (infos.length > 1) {
    const used = new Set<number>();
    for (const info of infos) for (const i of info.reads) used.add(i);
    readIds = [...used].sort((a, b) => a - b);
  }
  const operands = [...readIds.map((i) => inputs[i]!), ...outputs];
  const co = coalesce(
    shape,
    operands.map((o) => o.strides),
  );
  const rank = co.shape.length;
  const layouts = co.strides.map((s) => layoutOf(co.shape, s));
  const { slots, index } = planBindings(
    operands.map((o, k) => ({ buffer: o.buffer, dtype: o.dtype, write: k >= readIds.length })),
  );

  const n = shape.reduce((a, b) => a * b, 1);
  const params: number[] = [n, ...co.shape];
  const base: number[] = [];
  operands.forEach((o, k) => {
    base.push(params.length);
    params.push(o.offset);
    if (layouts[k] === 'x') params.push(...co.strides[k]!);
  });

  const key = `ew|${infos.map((i) => i.id).join(',')}|${readIds.join(',')}|${rank}|${layouts.join('')}|${slotsKey(slots, index)}`;
  const source = (): string => {
    const anyStrided = layouts.includes('x');
    const coords: string[] = [];
    if (anyStrided) {
      coords.push('var rem = i;');
      for (let d = rank - 1; d >= 1; d--) {
        coords.push(`let c${d} = rem % ${P(1 + d)}; rem = rem / ${P(1 + d)};`);
      }
      coords.push('let c0 = rem;');
    }
    const at = (k: number): string => {
      const off = P(base[k]!);
      if (layouts[k] === 's') return off;
      if (layouts[k] === 'd') return `${off} + i`;
      const terms = Array.from({ length: rank }, (_, d) => `c${d} * ${P(base[k]! + 1 + d)}`);
      return `${off} + ${terms.join(' + ')}`;
    };
    const reads = readIds.map((id, k) => `let v${id} = b${index[k]!}[${at(k)}];`);
    const { stmts, results } = exprsToWgsl(exprs, (id) => `v${id}`);
    const writes = outputs.map((_, j) => {
      const k = readIds.length + j;
      return `b${index[k]!}[${at(k)}] = ${results[j]!};`;
    });
    return `${declarations(slots, params.length)}
${EXPR_PRELUDE}
${MAIN_1D} {
  let i = ${LINEAR_INDEX};
  if (i >= ${P(0)}) { return; }
  ${[...coords, ...reads, ...stmts, ...writes].join('\n  ')}
}`;
  };
  return { key, source, slots, params, threads: n };
}

/** Checks an expression list against its operands' dtypes; returns a message when they disagree. */
export function checkElementwiseTypes(
  exprs: readonly Expr[],
  inputs: readonly { readonly dtype: DType }[],
  outputs: readonly { readonly dtype: DType }[],
): string | null {
  for (let k = 0; k < exprs.length; k++) {
    const e = exprs[k]!;
    const info = exprInfo(e);
    if (info.f64) return 'an expression computes in f64, which WGSL lacks; cast to f32 first';
    if (e.dtype !== outputs[k]!.dtype) {
      return `output ${k} is ${outputs[k]!.dtype} but its expression computes ${e.dtype}`;
    }
    for (const [i, dtype] of info.readAs) {
      const have = inputs[i]?.dtype;
      if (have === undefined) return `the expression reads input ${i}, found ${inputs.length} inputs`;
      if (have !== dtype) return `input ${i} is ${have} but read as ${dtype}`;
    }
  }
  return null;
}
