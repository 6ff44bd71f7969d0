import { apply } from '../apply.js';
import { type DType, isFloat } from '../dtype.js';
import { DTypeError } from '../errors.js';
import { BINARY_OPS, type BinaryOp, type Expr, ex, UNARY_OPS, type UnaryOp } from '../expr.js';
import { type OpDef, SAVES_INPUTS, SAVES_NOTHING, SAVES_OUTPUT } from '../op.js';
import { broadcastShapes } from '../shape.js';
import type { Tensor, TensorMeta } from '../tensor.js';
import { lift, scalar, sumToShape, type TensorLike } from './util.js';

type NoAttrs = Record<string, never>;
const NONE: NoAttrs = {};

function inferElementwise(name: string, inputs: readonly TensorMeta[], expr: Expr): TensorMeta {
  let shape: number[] = [];
  for (const t of inputs) shape = broadcastShapes(name, shape, t.shape);
  return { shape, dtype: expr.dtype };
}

type UnaryVjp = (g: Tensor, x: Tensor, y: Tensor) => Tensor | null;

// Each rule uses only the values its `saves` entry keeps.
const UNARY_VJP: { [K in UnaryOp]: { saves: OpDef<NoAttrs>['saves']; rule: UnaryVjp } } = {
  neg: { saves: SAVES_NOTHING, rule: (g) => neg(g) },
  exp: { saves: SAVES_OUTPUT, rule: (g, _x, y) => mul(g, y) },
  log: { saves: SAVES_INPUTS, rule: (g, x) => div(g, x) },
  sqrt: { saves: SAVES_OUTPUT, rule: (g, _x, y) => div(g, mul(y, 2)) },
  abs: { saves: SAVES_INPUTS, rule: (g, x) => mul(g, sign(x)) },
  tanh: { saves: SAVES_OUTPUT, rule: (g, _x, y) => mul(g, sub(1, mul(y, y))) },
  sigmoid: { saves: SAVES_OUTPUT, rule: (g, _x, y) => mul(g, mul(y, sub(1, y))) },
  relu: { saves: SAVES_INPUTS, rule: (g, x) => mul(g, gt(x, 0)) },
  sign: { saves: SAVES_NOTHING, rule: () => null },
};

type BinaryVjp = (g: Tensor, a: Tensor, b: Tensor, y: Tensor) => [Tensor | null, Tensor | null];

// Binary ops save their inputs: the VJP needs their shapes to undo broadcasting.
// Comparisons have no gradient (null rule) and record no autograd node.
const BINARY_VJP: { [K in BinaryOp]: BinaryVjp | null } = {
  add: (g) => [g, g],
  sub: (g) => [g, neg(g)],
  mul: (g, a, b) => [mul(g, b), mul(g, a)],
  div: (g, a, b) => [div(g, b), neg(div(mul(g, a), mul(b, b)))],
  pow: (g, a, b, y) => [mul(g, mul(b, pow(a, sub(b, 1)))), mul(g, mul(y, log(a)))],
  // Ties split the gradient evenly, as PyTorch does.
  min: (g, a, b) => tieSplit(g, lt(a, b), eq(a, b)),
  max: (g, a, b) => tieSplit(g, gt(a, b), eq(a, b)),
  eq: null,
  ne: null,
  lt: null,
  le: null,
  gt: null,
  ge: null,
};

function tieSplit(g: Tensor, wins: Tensor, ties: Tensor): [Tensor, Tensor] {
  const half = mul(ties, 0.5);
  return [mul(g, add(wins, half)), mul(g, sub(sub(1, wins), half))];
}

function makeUnary(op: UnaryOp): OpDef<NoAttrs> {
  const vjp = UNARY_VJP[op];
  return {
    name: op,
    expr: ([a]) => ex.unary(op, a!),
    infer: (inputs) => inferElementwise(op, inputs, ex.unary(op, ex.input(0, inputs[0]!.dtype))),
    saves: vjp.saves,
    vjp: (g, { inputs, output }) => [vjp.rule(g, inputs[0]!, output)],
  };
}

/** Op names of the binary expressions; min/max become minimum/maximum, apart from the reductions. */
export const BINARY_OP_NAMES = {
  add: 'add',
  sub: 'sub',
  mul: 'mul',
  div: 'div',
  pow: 'pow',
  min: 'minimum',
  max: 'maximum',
  eq: 'eq',
  ne: 'ne',
  lt: 'lt',
  le: 'le',
  gt: 'gt',
  ge: 'ge',
} as const satisfies { [K in BinaryOp]: string };
export type BinaryOpName = (typeof BINARY_OP_NAMES)[BinaryOp];

function makeBinary(op: BinaryOp): OpDef<NoAttrs> {
  const rule = BINARY_VJP[op];
  return {
    name: BINARY_OP_NAMES[op],
    expr: ([a, b]) => ex.binary(op, a!, b!),
    infer: (inputs) =>
      inferElementwise(
        op,
        inputs,
        ex.binary(op, ex.input(0, inputs[0]!.dtype), ex.input(1, inputs[1]!.dtype)),
      ),
    saves: op === 'pow' ? { inputs: true, output: true } : SAVES_INPUTS,
    vjp: rule
      ? (g, { inputs, output }) => {
          const [a, b] = inputs as [Tensor, Tensor];
          const [ga, gb] = rule(g, a, b, output);
          return [ga && sumToShape(ga, a.shape), gb && sumToShape(gb, b.shape)];
        }
      : undefined,
  };
}

export const unaryOps = Object.fromEntries(UNARY_OPS.map((op) => [op, makeUnary(op)])) as {
  [K in UnaryOp]: OpDef<NoAttrs>;
};
const binaryByExpr = Object.fromEntries(BINARY_OPS.map((op) => [op, makeBinary(op)])) as {
  [K in BinaryOp]: OpDef<NoAttrs>;
};
export const binaryOps = Object.fromEntries(
  BINARY_OPS.map((op) => [BINARY_OP_NAMES[op], binaryByExpr[op]]),
) as {
  [K in BinaryOpName]: OpDef<NoAttrs>;
};

export const whereOp: OpDef<NoAttrs> = {
  name: 'where',
  expr: ([c, a, b]) => ex.where(c!, a!, b!),
  infer: (inputs) =>
    inferElementwise(
      'where',
      inputs,
      ex.where(ex.input(0, inputs[0]!.dtype), ex.input(1, inputs[1]!.dtype), ex.input(2, inputs[2]!.dtype)),
    ),
  saves: SAVES_INPUTS,
  vjp: (g, { inputs }) => {
    const [c, a, b] = inputs as [Tensor, Tensor, Tensor];
    const zero = scalar(0, g.dtype, g);
    return [null, sumToShape(where(c, g, zero), a.shape), sumToShape(where(c, zero, g), b.shape)];
  },
};

export const castOp: OpDef<{ dtype: DType }> = {
  name: 'cast',
  expr: ([a], { dtype }) => ex.cast(a!, dtype),
  infer: (inputs, { dtype }) => ({ shape: inputs[0]!.shape, dtype }),
  saves: SAVES_INPUTS,
  vjp: (g, { inputs }) => [isFloat(inputs[0]!.dtype) ? cast(g, inputs[0]!.dtype) : null],
};

function unary(op: UnaryOp, x: Tensor): Tensor {
  return apply(unaryOps[op], [x], NONE);
}
function binary(op: BinaryOp, a: TensorLike, b: TensorLike): Tensor {
  const [ta, tb] = lift(a, b);
  return apply(binaryByExpr[op], [ta, tb], NONE);
}

export const neg = (x: Tensor): Tensor => unary('neg', x);
export const exp = (x: Tensor): Tensor => unary('exp', x);
export const log = (x: Tensor): Tensor => unary('log', x);
export const sqrt = (x: Tensor): Tensor => unary('sqrt', x);
export const abs = (x: Tensor): Tensor => unary('abs', x);
export const tanh = (x: Tensor): Tensor => unary('tanh', x);
export const sigmoid = (x: Tensor): Tensor => unary('sigmoid', x);
export const relu = (x: Tensor): Tensor => unary('relu', x);
export const sign = (x: Tensor): Tensor => unary('sign', x);

export const add = (a: TensorLike, b: TensorLike): Tensor => binary('add', a, b);
export const sub = (a: TensorLike, b: TensorLike): Tensor => binary('sub', a, b);
export const mul = (a: TensorLike, b: TensorLike): Tensor => binary('mul', a, b);
export const div = (a: TensorLike, b: TensorLike): Tensor => binary('div', a, b);
export const pow = (a: TensorLike, b: TensorLike): Tensor => binary('pow', a, b);
export const minimum = (a: TensorLike, b: TensorLike): Tensor => binary('min', a, b);
export const maximum = (a: TensorLike, b: TensorLike): Tensor => binary('max', a, b);
export const eq = (a: TensorLike, b: TensorLike): Tensor => binary('eq', a, b);
export const ne = (a: TensorLike, b: TensorLike): Tensor => binary('ne', a, b);
export const lt = (a: TensorLike, b: TensorLike): Tensor => binary('lt', a, b);
export const le = (a: TensorLike, b: TensorLike): Tensor => binary('le', a, b);
export const gt = (a: TensorLike, b: TensorLike): Tensor => binary('gt', a, b);
export const ge = (a: TensorLike, b: TensorLike): Tensor => binary('ge', a, b);
export const square = (x: Tensor): Tensor => mul(x, x);

/** Elementwise choice: `a` where `cond` is non-zero, else `b` (all three broadcast). */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  const [ta, tb] = lift(a, b);
  return apply(whereOp, [cond, ta, tb], NONE);
}

export function cast(x: Tensor, dtype: DType): Tensor {
  if (dtype !== 'f32' && dtype !== 'f64' && dtype !== 'i32') {
    throw new DTypeError(`cast: expected dtype 'f32', 'f64' or 'i32', found ${JSON.stringify(dtype)}.`);
  }
  return apply(castOp, [x], { dtype });
}
