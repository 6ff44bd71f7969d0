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

/** The operands of an expression node. */
export function exprChildren(e: Expr): Expr[] {
  switch (e.kind) {
    case 'unary':
    case 'cast':
      return [e.a];
    case 'binary':
      return [e.a, e.b];
    case 'where':
      return [e.cond, e.a, e.b];
    default:
      return [];
  }
}

/**
 * Straight-line code for several expressions that evaluates each shared subexpression once: a
 * subtree occurring more than once (by structure) is bound to a local `t<k>` before its first use.
 * `render(e, sub)` renders one node with `sub` rendering its operands (inputs and constants are
 * rendered by `render` each time); `bind(name, code)` is the statement that binds a local. Code
 * generators of every backend share this, so all of them fuse alike.
 */
export function renderShared(
  exprs: readonly Expr[],
  render: (e: Expr, sub: (child: Expr) => string) => string,
  bind: (name: string, code: string) => string,
): { stmts: string[]; results: string[] } {
  const count = new Map<string, number>();
  const keyOf = new Map<Expr, string>();
  const key = (e: Expr): string => {
    let k = keyOf.get(e);
    if (k === undefined) {
      k = exprKey(e);
      keyOf.set(e, k);
    }
    return k;
  };
  const visit = (e: Expr): void => {
    const k = key(e);
    const c = count.get(k) ?? 0;
    count.set(k, c + 1);
    if (c > 0) return;
    for (const child of exprChildren(e)) visit(child);
  };
  for (const e of exprs) visit(e);
  const bound = new Map<string, string>();
  const stmts: string[] = [];
  const emit = (e: Expr): string => {
    if (e.kind === 'input' || e.kind === 'const') return render(e, emit);
    const k = key(e);
    const known = bound.get(k);
    if (known) return known;
    const code = render(e, emit);
    if ((count.get(k) ?? 0) < 2) return code;
    const name = `t${bound.size}`;
    stmts.push(bind(name, code));
    bound.set(k, name);
    return name;
  };
  return { stmts, results: exprs.map(emit) };
}
