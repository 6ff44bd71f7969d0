import { type Expr, renderShared } from '@recur/tensor';

/**
 * Turns an elementwise expression into JavaScript source. Inputs are read once into locals
 * `v0..vn`; f32 results are rounded when stored into the Float32Array, i32 arithmetic wraps.
 */
export function exprToJs(e: Expr, sub: (e: Expr) => string = (x) => exprToJs(x)): string {
  switch (e.kind) {
    case 'input':
      return `v${e.index}`;
    case 'const':
      return Number.isNaN(e.value)
        ? 'NaN'
        : e.value === Infinity
          ? 'Infinity'
          : e.value === -Infinity
            ? '-Infinity'
            : `(${e.value})`;
    case 'cast': {
      const a = sub(e.a);
      if (e.dtype === 'i32') return `(${a} | 0)`;
      if (e.dtype === 'f32') return `Math.fround(${a})`;
      return a;
    }
    case 'where':
      return `(${sub(e.cond)} !== 0 ? ${sub(e.a)} : ${sub(e.b)})`;
    case 'unary': {
      const a = sub(e.a);
      const int = e.dtype === 'i32';
      switch (e.op) {
        case 'neg':
          return int ? `((-${a}) | 0)` : `(-${a})`;
        case 'exp':
          return `Math.exp(${a})`;
        case 'log':
          return `Math.log(${a})`;
        case 'sqrt':
          return `Math.sqrt(${a})`;
        case 'abs':
          return int ? `(Math.abs(${a}) | 0)` : `Math.abs(${a})`;
        case 'tanh':
          return `Math.tanh(${a})`;
        case 'sigmoid':
          return `(1 / (1 + Math.exp(-${a})))`;
        case 'relu':
          return `relu(${a})`;
        case 'sign':
          return `Math.sign(${a})`;
      }
      break;
    }
    case 'binary': {
      const a = sub(e.a);
      const b = sub(e.b);
      const int = e.a.dtype === 'i32';
      switch (e.op) {
        case 'add':
          return int ? `((${a} + ${b}) | 0)` : `(${a} + ${b})`;
        case 'sub':
          return int ? `((${a} - ${b}) | 0)` : `(${a} - ${b})`;
        case 'mul':
          return int ? `Math.imul(${a}, ${b})` : `(${a} * ${b})`;
        case 'div':
          return int ? `idiv(${a}, ${b})` : `(${a} / ${b})`;
        case 'pow':
          return `Math.pow(${a}, ${b})`;
        case 'min':
          return `Math.min(${a}, ${b})`;
        case 'max':
          return `Math.max(${a}, ${b})`;
        case 'eq':
          return `(${a} === ${b} ? 1 : 0)`;
        case 'ne':
          return `(${a} !== ${b} ? 1 : 0)`;
        case 'lt':
          return `(${a} < ${b} ? 1 : 0)`;
        case 'le':
          return `(${a} <= ${b} ? 1 : 0)`;
        case 'gt':
          return `(${a} > ${b} ? 1 : 0)`;
        case 'ge':
          return `(${a} >= ${b} ? 1 : 0)`;
      }
    }
  }
  throw new Error(`exprToJs: unknown expression ${JSON.stringify(e)}`);
}

const PRELUDE = `
const relu = (x) => (x < 0 ? 0 : x);
const idiv = (a, b) => (b === 0 ? 0 : (a / b) | 0);
`;

export type ElementwiseKernel = (
  outs: readonly (ArrayLike<number> & { [i: number]: number })[],
  outOffsets: readonly number[],
  outStrides: readonly (readonly number[])[],
  shape: readonly number[],
  inputs: readonly ArrayLike<number>[],
  offsets: readonly number[],
  strides: readonly (readonly number[])[],
) => void;

/**
 * Statements computing several expressions with shared subexpressions evaluated once: a subtree
 * that occurs more than once (by structure) is bound to a local `t<k>` before its first use.
 */
export function exprsToJs(exprs: readonly Expr[]): { stmts: string[]; results: string[] } {
  return renderShared(
    exprs,
    (e, sub) => (e.kind === 'input' || e.kind === 'const' ? exprToJs(e) : exprToJs(e, sub)),
    (name, code) => `const ${name} = ${code};`,
  );
}

/**
 * A kernel for a list of expressions (one per output) and one input layout. `flat[i]` says input
 * i is read densely in output order (true) or is a single broadcast value (false); `null` selects
 * the strided kernel, which also places outputs by their offsets and strides. With `flat`, every
 * output is dense from its offset.
 */
export function compileElementwise(
  exprs: readonly Expr[],
  arity: number,
  flat: readonly boolean[] | null,
): ElementwiseKernel {
  const { stmts, results } = exprsToJs(exprs);
  const ids = Array.from({ length: arity }, (_, i) => i);
  const outIds = results.map((_, k) => k);
  let src: string;
  if (flat) {
    src = `
${ids.map((i) => `const a${i} = inputs[${i}], o${i} = offsets[${i}];`).join('\n')}
${outIds.map((k) => `const r${k} = outs[${k}], ro${k} = outOffsets[${k}];`).join('\n')}
let n = 1; for (let d = 0; d < shape.length; d++) n *= shape[d];
${ids
  .filter((i) => !flat[i])
  .map((i) => `const v${i} = a${i}[o${i}];`)
  .join('\n')}
for (let i = 0; i < n; i++) {
  ${ids
    .filter((i) => flat[i])
    .map((i) => `const v${i} = a${i}[o${i} + i];`)
    .join('\n  ')}
  ${stmts.join('\n  ')}
  ${results.map((r, k) => `r${k}[ro${k} + i] = ${r};`).join('\n  ')}
}`;
  } else {
    const all = [
      ...ids.map((i) => ({ p: `p${i}`, s: `s${i}` })),
      ...outIds.map((k) => ({ p: `w${k}`, s: `z${k}` })),
    ];
    src = `
const rank = shape.length;
let n = 1; for (let d = 0; d < rank; d++) n *= shape[d];
if (n === 0) return;
const inner = rank === 0 ? 1 : shape[rank - 1];
const idx = new Int32Array(Math.max(rank - 1, 1));
${ids.map((i) => `const a${i} = inputs[${i}], s${i} = strides[${i}], is${i} = rank === 0 ? 0 : s${i}[rank - 1]; let p${i} = offsets[${i}];`).join('\n')}
${outIds.map((k) => `const r${k} = outs[${k}], z${k} = outStrides[${k}], iz${k} = rank === 0 ? 0 : z${k}[rank - 1]; let w${k} = outOffsets[${k}];`).join('\n')}
for (let op = 0; op < n; ) {
  ${ids.map((i) => `let q${i} = p${i};`).join(' ')}
  ${outIds.map((k) => `let y${k} = w${k};`).join(' ')}
  for (let j = 0; j < inner; j++, op++) {
    ${ids.map((i) => `const v${i} = a${i}[q${i}]; q${i} += is${i};`).join('\n    ')}
    ${stmts.join('\n    ')}
    ${results.map((r, k) => `r${k}[y${k}] = ${r}; y${k} += iz${k};`).join('\n    ')}
  }
  for (let d = rank - 2; d >= 0; d--) {
    idx[d]++;
    ${all.map((v) => `${v.p} += ${v.s}[d];`).join(' ')}
    if (idx[d] < shape[d]) break;
    idx[d] = 0;
    ${all.map((v) => `${v.p} -= ${v.s}[d] * shape[d];`).join(' ')}
  }
}`;
  }
  return new Function(
    'outs',
    'outOffsets',
    'outStrides',
    'shape',
    'inputs',
    'offsets',
    'strides',
    `${PRELUDE}\n${src}`,
  ) as ElementwiseKernel;
}
