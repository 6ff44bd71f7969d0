import { type DType, type Expr, exprChildren, renderShared } from '@recur/tensor';

/**
 * WGSL code generation from the scalar expression IR of `@recur/tensor` (`Expr`). Semantics follow
 * `evalExpr` (the reference): f32 results rounded per node, i32 arithmetic wrapping, NaN propagating
 * through min/max, integer division by zero giving 0, JavaScript's `ToInt32` for float → i32 casts.
 * Where WGSL leaves a result undefined (min/max of NaN, pow of a negative base, huge tanh
 * arguments) the helpers below spell the reference semantics out.
 */

/** WGSL scalar type of a dtype; f64 has no WGSL type. */
export function wgslType(dtype: DType): 'f32' | 'i32' {
  if (dtype === 'f64') {
    throw new Error('WGSL has no f64: the WebGPU backend computes in f32 and i32 only.');
  }
  return dtype;
}

/** Helper functions the generated expressions may call; emitted once per shader. */
export const EXPR_PRELUDE = `
fn r_bits(b: u32) -> f32 { return bitcast<f32>(b); }
fn r_isnan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn r_nan() -> f32 { return r_bits(0x7fc00000u); }
fn r_min(a: f32, b: f32) -> f32 {
  if (r_isnan(a) || r_isnan(b)) { return r_nan(); }
  if (a == b) { return bitcast<f32>(bitcast<u32>(a) | bitcast<u32>(b)); }
  return select(b, a, a < b);
}
fn r_max(a: f32, b: f32) -> f32 {
  if (r_isnan(a) || r_isnan(b)) { return r_nan(); }
  if (a == b) { return bitcast<f32>(bitcast<u32>(a) & bitcast<u32>(b)); }
  return select(b, a, a > b);
}
fn r_tanh(x: f32) -> f32 {
  let a = abs(x);
  if (r_isnan(x)) { return x; }
  var r: f32;
  if (a < 0.004) {
    r = a * (1.0 - a * a * (1.0 / 3.0));
  } else if (a > 9.5) {
    r = 1.0;
  } else {
    let t = exp(-2.0 * a);
    r = (1.0 - t) / (1.0 + t);
  }
  return select(r, -r, x < 0.0);
}
fn r_sigmoid(x: f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }
fn r_sign(x: f32) -> f32 { return select(select(x, -1.0, x < 0.0), 1.0, x > 0.0); }
fn r_relu(x: f32) -> f32 { return select(x, 0.0, x < 0.0); }
fn r_pow(a: f32, b: f32) -> f32 {
  if (b == 0.0) { return 1.0; }
  if (r_isnan(a) || r_isnan(b)) { return r_nan(); }
  let m = abs(a);
  var r: f32;
  if (m == 0.0) {
    r = select(r_bits(0x7f800000u), 0.0, b > 0.0);
  } else if (m == 1.0 && abs(b) == r_bits(0x7f800000u)) {
    return r_nan();
  } else {
    r = exp2(b * log2(m));
  }
  if (a < 0.0 || (a == 0.0 && bitcast<u32>(a) != 0u)) {
    if (b != trunc(b)) { return select(r_nan(), r, a == 0.0); }
    if (abs(b) < 16777216.0 && fract(b * 0.5) != 0.0) { r = -r; }
  }
  return r;
}
fn r_idiv(a: i32, b: i32) -> i32 { return select(a / select(b, 1, b == 0), 0, b == 0); }
fn r_toi32(x: f32) -> i32 {
  if (r_isnan(x) || abs(x) == r_bits(0x7f800000u)) { return 0; }
  let t = trunc(x);
  if (abs(t) < 2147483648.0) { return i32(t); }
  let r = t - floor(t / 4294967296.0) * 4294967296.0;
  return bitcast<i32>(u32(r));
}
`;

/**
 * A WGSL constant of the given dtype, exact: f32 values other than small integers are written by
 * their bits through a function (WGSL rejects NaN and infinities in constant expressions).
 */
export function constToWgsl(value: number, dtype: DType): string {
  if (wgslType(dtype) === 'i32') {
    const v = value | 0;
    return v === -2147483648 ? 'bitcast<i32>(0x80000000u)' : `i32(${v})`;
  }
  const f = Math.fround(value);
  if (Number.isInteger(f) && Math.abs(f) < 16777216 && !Object.is(f, -0)) return `f32(${f})`;
  const bits = new Uint32Array(new Float32Array([f]).buffer)[0]!;
  return `r_bits(0x${bits.toString(16)}u)`;
}

/** One expression node as WGSL, its children rendered by `sub` (used for CSE). */
export function exprToWgsl(e: Expr, sub: (e: Expr) => string, input: (index: number) => string): string {
  switch (e.kind) {
    case 'input':
      return input(e.index);
    case 'const':
      return constToWgsl(e.value, e.dtype);
    case 'cast': {
      const to = wgslType(e.dtype);
      const from = wgslType(e.a.dtype);
      const a = sub(e.a);
      if (to === from) return a;
      return to === 'i32' ? `r_toi32(${a})` : `f32(${a})`;
    }
    case 'where': {
      const c = e.cond.dtype === 'i32' ? `(${sub(e.cond)} != 0)` : `!(${sub(e.cond)} == 0.0)`;
      return `select(${sub(e.b)}, ${sub(e.a)}, ${c})`;
    }
    case 'unary': {
      const a = sub(e.a);
      const int = wgslType(e.dtype) === 'i32';
      switch (e.op) {
        case 'neg':
          return `(-${a})`;
        case 'exp':
          return `exp(${a})`;
        case 'log':
          return `log(${a})`;
        case 'sqrt':
          return `sqrt(${a})`;
        case 'abs':
          return `abs(${a})`;
        case 'tanh':
          return `r_tanh(${a})`;
        case 'sigmoid':
          return `r_sigmoid(${a})`;
        case 'relu':
          return int ? `max(${a}, 0)` : `r_relu(${a})`;
        case 'sign':
          return int ? `sign(${a})` : `r_sign(${a})`;
      }
      break;
    }
    case 'binary': {
      const a = sub(e.a);
      const b = sub(e.b);
      const int = wgslType(e.a.dtype) === 'i32';
      const cmp = (op: string) => `select(0, 1, ${a} ${op} ${b})`;
      switch (e.op) {
        case 'add':
          return `(${a} + ${b})`;
        case 'sub':
          return `(${a} - ${b})`;
        case 'mul':
          return `(${a} * ${b})`;
        case 'div':
          return int ? `r_idiv(${a}, ${b})` : `(${a} / ${b})`;
        case 'pow':
          if (e.b.kind === 'const' && e.b.value === 2) return `(${a} * ${a})`;
          if (e.b.kind === 'const' && e.b.value === 1) return a;
          return `r_pow(${a}, ${b})`;
        case 'min':
          return int ? `min(${a}, ${b})` : `r_min(${a}, ${b})`;
        case 'max':
          return int ? `max(${a}, ${b})` : `r_max(${a}, ${b})`;
        case 'eq':
          return cmp('==');
        case 'ne':
          return `select(1, 0, ${a} == ${b})`;
        case 'lt':
          return cmp('<');
        case 'le':
          return cmp('<=');
        case 'gt':
          return cmp('>');
        case 'ge':
          return cmp('>=');
      }
    }
  }
  throw new Error(`exprToWgsl: unknown expression ${JSON.stringify(e)}`);
}

/**
 * WGSL statements computing several expressions, each shared subexpression (by structure) bound
 * once to a `let t<k>` before its first use. `input(i)` renders a read of input i.
 */
export function exprsToWgsl(
  exprs: readonly Expr[],
  input: (index: number) => string,
): { stmts: string[]; results: string[] } {
  return renderShared(
    exprs,
    (e, sub) => exprToWgsl(e, sub, input),
    (name, code) => `let ${name} = ${code};`,
  );
}

/** Every dtype an expression touches (to reject f64 with a clear error). */
export function exprDTypes(e: Expr, into: Set<DType> = new Set()): Set<DType> {
  into.add(e.dtype);
  for (const c of exprChildren(e)) exprDTypes(c, into);
  return into;
}
