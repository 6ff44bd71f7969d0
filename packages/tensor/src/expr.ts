import { type DType, floatOf, promote } from './dtype.js';

/**
 * The scalar expression IR of elementwise kernels. Every elementwise op is one node kind here;
 * a fused kernel is a tree of them over its inputs. Backends generate code from it (JS source,
 * WGSL, WASM), so adding a node kind means teaching each code generator about it.
 */
export type UnaryOp = 'neg' | 'exp' | 'log' | 'sqrt' | 'abs' | 'tanh' | 'sigmoid' | 'relu' | 'sign';
export type BinaryOp =
  | 'add'
  | 'sub'
  | 'mul'
  | 'div'
  | 'pow'
  | 'min'
  | 'max'
  | 'eq'
  | 'ne'
  | 'lt'
  | 'le'
  | 'gt'
  | 'ge';

export const UNARY_OPS: readonly UnaryOp[] = [
  'neg',
  'exp',
  'log',
  'sqrt',
  'abs',
  'tanh',
  'sigmoid',
  'relu',
  'sign',
];
export const BINARY_OPS: readonly BinaryOp[] = [
  'add',
  'sub',
  'mul',
  'div',
  'pow',
  'min',
  'max',
  'eq',
  'ne',
  'lt',
  'le',
  'gt',
  'ge',
];
export const COMPARISONS: ReadonlySet<BinaryOp> = new Set(['eq', 'ne', 'lt', 'le', 'gt', 'ge']);
/** Unary ops whose result keeps an integer dtype; the rest compute in floating point. */
export const INT_PRESERVING_UNARY: ReadonlySet<UnaryOp> = new Set(['neg', 'abs', 'relu', 'sign']);

export type Expr =
  | { readonly kind: 'input'; readonly index: number; readonly dtype: DType }
  | { readonly kind: 'const'; readonly value: number; readonly dtype: DType }
  | { readonly kind: 'unary'; readonly op: UnaryOp; readonly a: Expr; readonly dtype: DType }
  | {
      readonly kind: 'binary';
      readonly op: BinaryOp;
      readonly a: Expr;
      readonly b: Expr;
      readonly dtype: DType;
    }
  | { readonly kind: 'where'; readonly cond: Expr; readonly a: Expr; readonly b: Expr; readonly dtype: DType }
  | { readonly kind: 'cast'; readonly a: Expr; readonly dtype: DType };

export const ex = {
  input(index: number, dtype: DType): Expr {
    return { kind: 'input', index, dtype };
  },
  const(value: number, dtype: DType): Expr {
    return { kind: 'const', value, dtype };
  },
  cast(a: Expr, dtype: DType): Expr {
    return a.dtype === dtype ? a : { kind: 'cast', a, dtype };
  },
  unary(op: UnaryOp, a: Expr): Expr {
    const dtype = INT_PRESERVING_UNARY.has(op) ? a.dtype : floatOf(a.dtype);
    return { kind: 'unary', op, a: ex.cast(a, dtype), dtype };
  },
  binary(op: BinaryOp, a: Expr, b: Expr): Expr {
    let t = promote(a.dtype, b.dtype);
    if (op === 'pow' && t === 'i32') t = 'f32';
    const dtype: DType = COMPARISONS.has(op) ? 'i32' : t;
    return { kind: 'binary', op, a: ex.cast(a, t), b: ex.cast(b, t), dtype };
  },
  where(cond: Expr, a: Expr, b: Expr): Expr {
    const t = promote(a.dtype, b.dtype);
    return { kind: 'where', cond, a: ex.cast(a, t), b: ex.cast(b, t), dtype: t };
  },
};

/** A stable text form, used as a cache key for generated kernels and in graph dumps. */
export function exprKey(e: Expr): string {
  switch (e.kind) {
    case 'input':
      return `$${e.index}:${e.dtype}`;
    case 'const':
      return `${Object.is(e.value, -0) ? '-0' : String(e.value)}:${e.dtype}`;
    case 'unary':
      return `${e.op}(${exprKey(e.a)})`;
    case 'binary':
      return `${e.op}(${exprKey(e.a)},${exprKey(e.b)})`;
    case 'where':
      return `where(${exprKey(e.cond)},${exprKey(e.a)},${exprKey(e.b)})`;
    case 'cast':
      return `${e.dtype}(${exprKey(e.a)})`;
  }
}

/** Number of inputs an expression reads (highest input index + 1). */
export function exprArity(e: Expr): number {
  switch (e.kind) {
    case 'input':
      return e.index + 1;
    case 'const':
      return 0;
    case 'unary':
    case 'cast':
      return exprArity(e.a);
    case 'binary':
      return Math.max(exprArity(e.a), exprArity(e.b));
    case 'where':
      return Math.max(exprArity(e.cond), exprArity(e.a), exprArity(e.b));
  }
}

/** Reference scalar semantics of the IR, in f64, with i32 wrap-around; code generators must agree. */
export function evalExpr(e: Expr, inputs: readonly number[]): number {
  const v = evalRaw(e, inputs);
  return roundTo(v, e.dtype);
}

function roundTo(v: number, dtype: DType): number {
  if (dtype === 'f32') return Math.fround(v);
  if (dtype === 'i32') return v | 0;
  return v;
}

function evalRaw(e: Expr, x: readonly number[]): number {
  switch (e.kind) {
    case 'input':
      return x[e.index] ?? Number.NaN;
    case 'const':
      return e.value;
    case 'cast':
      return e.dtype === 'i32' ? Math.trunc(evalExpr(e.a, x)) | 0 : evalExpr(e.a, x);
    case 'unary':
      return unaryScalar(e.op, evalExpr(e.a, x));
    case 'binary':
      return binaryScalar(e.op, evalExpr(e.a, x), evalExpr(e.b, x), e.a.dtype === 'i32');
    case 'where':
      return evalExpr(e.cond, x) !== 0 ? evalExpr(e.a, x) : evalExpr(e.b, x);
  }
}

export function unaryScalar(op: UnaryOp, a: number): number {
  switch (op) {
    case 'neg':
      return -a;
    case 'exp':
      return Math.exp(a);
    case 'log':
      return Math.log(a);
    case 'sqrt':
      return Math.sqrt(a);
    case 'abs':
      return Math.abs(a);
    case 'tanh':
      return Math.tanh(a);
    case 'sigmoid':
      return 1 / (1 + Math.exp(-a));
    case 'relu':
      return Math.max(a, 0);
    case 'sign':
      return Math.sign(a);
  }
}

export function binaryScalar(op: BinaryOp, a: number, b: number, int: boolean): number {
  switch (op) {
    case 'add':
      return a + b;
    case 'sub':
      return a - b;
    case 'mul':
      return int ? Math.imul(a, b) : a * b;
    case 'div':
      return int ? (b === 0 ? 0 : Math.trunc(a / b)) : a / b;
    case 'pow':
      return a ** b;
    case 'min':
      return Math.min(a, b);
    case 'max':
      return Math.max(a, b);
    case 'eq':
      return a === b ? 1 : 0;
    case 'ne':
      return a !== b ? 1 : 0;
    case 'lt':
      return a < b ? 1 : 0;
    case 'le':
      return a <= b ? 1 : 0;
    case 'gt':
      return a > b ? 1 : 0;
    case 'ge':
      return a >= b ? 1 : 0;
  }
}
