import { type BackwardOptions, backward, installAutogradOps } from './autograd.js';
import type { DType } from './dtype.js';
import * as ew from './ops/elementwise.js';
import { onesLike } from './ops/fill.js';
import { gather, scatterAdd } from './ops/index-ops.js';
import { matmul } from './ops/matmul.js';
import { type CrossEntropyOptions, crossEntropy, logSoftmax, softmax } from './ops/nn.js';
import { argmax, argmin, logsumexp, max, mean, min, sum } from './ops/reduce.js';
import * as so from './ops/shape-ops.js';
import type { TensorLike } from './ops/util.js';
import { installCast, Tensor } from './tensor.js';

type Axes = number | readonly number[];

declare module './tensor.js' {
  interface Tensor {
    add(b: TensorLike): Tensor;
    sub(b: TensorLike): Tensor;
    mul(b: TensorLike): Tensor;
    div(b: TensorLike): Tensor;
    pow(b: TensorLike): Tensor;
    minimum(b: TensorLike): Tensor;
    maximum(b: TensorLike): Tensor;
    eq(b: TensorLike): Tensor;
    ne(b: TensorLike): Tensor;
    lt(b: TensorLike): Tensor;
    le(b: TensorLike): Tensor;
    gt(b: TensorLike): Tensor;
    ge(b: TensorLike): Tensor;
    neg(): Tensor;
    exp(): Tensor;
    log(): Tensor;
    sqrt(): Tensor;
    abs(): Tensor;
    tanh(): Tensor;
    sigmoid(): Tensor;
    relu(): Tensor;
    sign(): Tensor;
    square(): Tensor;
    cast(dtype: DType): Tensor;
    /** A copy with its own storage. */
    clone(): Tensor;
    matmul(b: Tensor, options?: { transA?: boolean; transB?: boolean }): Tensor;
    sum(axes?: Axes, keepDims?: boolean): Tensor;
    mean(axes?: Axes, keepDims?: boolean): Tensor;
    max(axes?: Axes, keepDims?: boolean): Tensor;
    min(axes?: Axes, keepDims?: boolean): Tensor;
    logsumexp(axes?: Axes, keepDims?: boolean): Tensor;
    argmax(axis?: number, keepDims?: boolean): Tensor;
    argmin(axis?: number, keepDims?: boolean): Tensor;
    reshape(shape: readonly number[]): Tensor;
    transpose(perm?: readonly number[]): Tensor;
    slice(begin: readonly number[], end?: readonly (number | undefined)[]): Tensor;
    pad(pads: readonly (readonly [number, number])[], value?: number): Tensor;
    broadcastTo(shape: readonly number[]): Tensor;
    expandDims(axis: number): Tensor;
    squeeze(axes?: readonly number[]): Tensor;
    flatten(): Tensor;
    split(sections: number | readonly number[], axis?: number): Tensor[];
    gather(indices: Tensor, axis?: number): Tensor;
    scatterAdd(indices: Tensor, updates: Tensor, axis?: number): Tensor;
    softmax(axis?: number): Tensor;
    logSoftmax(axis?: number): Tensor;
    crossEntropy(targets: Tensor, options?: CrossEntropyOptions): Tensor;
    /** Reverse-mode autograd from this scalar into the `.grad` of every leaf it depends on. */
    backward(options?: BackwardOptions): void;
  }
}

const p = Tensor.prototype;

const BINARY_METHODS = {
  add: ew.add,
  sub: ew.sub,
  mul: ew.mul,
  div: ew.div,
  pow: ew.pow,
  minimum: ew.minimum,
  maximum: ew.maximum,
  eq: ew.eq,
  ne: ew.ne,
  lt: ew.lt,
  le: ew.le,
  gt: ew.gt,
  ge: ew.ge,
} as const;
for (const [name, fn] of Object.entries(BINARY_METHODS)) {
  p[name as keyof typeof BINARY_METHODS] = function (this: Tensor, b: TensorLike) {
    return fn(this, b);
  };
}

const UNARY_METHODS = {
  neg: ew.neg,
  exp: ew.exp,
  log: ew.log,
  sqrt: ew.sqrt,
  abs: ew.abs,
  tanh: ew.tanh,
  sigmoid: ew.sigmoid,
  relu: ew.relu,
  sign: ew.sign,
  square: ew.square,
  clone: (t: Tensor) => ew.cast(t, t.dtype),
  flatten: so.flatten,
} as const;
for (const [name, fn] of Object.entries(UNARY_METHODS)) {
  p[name as keyof typeof UNARY_METHODS] = function (this: Tensor) {
    return fn(this);
  };
}

p.cast = function (dtype) {
  return ew.cast(this, dtype);
};
p.matmul = function (b, options) {
  return matmul(this, b, options);
};
p.sum = function (axes, keepDims) {
  return sum(this, axes, keepDims);
};
p.mean = function (axes, keepDims) {
  return mean(this, axes, keepDims);
};
p.max = function (axes, keepDims) {
  return max(this, axes, keepDims);
};
p.min = function (axes, keepDims) {
  return min(this, axes, keepDims);
};
p.logsumexp = function (axes, keepDims) {
  return logsumexp(this, axes, keepDims);
};
p.argmax = function (axis, keepDims) {
  return argmax(this, axis, keepDims);
};
p.argmin = function (axis, keepDims) {
  return argmin(this, axis, keepDims);
};
p.reshape = function (shape) {
  return so.reshape(this, shape);
};
p.transpose = function (perm) {
  return so.transpose(this, perm);
};
p.slice = function (begin, end) {
  return so.slice(this, begin, end);
};
p.pad = function (pads, value) {
  return so.pad(this, pads, value);
};
p.broadcastTo = function (shape) {
  return so.broadcastTo(this, shape);
};
p.expandDims = function (axis) {
  return so.expandDims(this, axis);
};
p.squeeze = function (axes) {
  return so.squeeze(this, axes);
};
p.split = function (sections, axis) {
  return so.split(this, sections, axis);
};
p.gather = function (indices, axis) {
  return gather(this, indices, axis);
};
p.scatterAdd = function (indices, updates, axis) {
  return scatterAdd(this, indices, updates, axis);
};
p.softmax = function (axis) {
  return softmax(this, axis);
};
p.logSoftmax = function (axis) {
  return logSoftmax(this, axis);
};
p.crossEntropy = function (targets, options) {
  return crossEntropy(this, targets, options);
};
p.backward = function (options) {
  backward(this, options);
};

installCast(ew.cast);
installAutogradOps(ew.add, onesLike, (t) => ew.cast(t, t.dtype));
