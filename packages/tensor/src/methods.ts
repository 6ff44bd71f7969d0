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
p.add = function (b) {
  return ew.add(this, b);
};
p.sub = function (b) {
  return ew.sub(this, b);
};
p.mul = function (b) {
  return ew.mul(this, b);
};
p.div = function (b) {
  return ew.div(this, b);
};
p.pow = function (b) {
  return ew.pow(this, b);
};
p.minimum = function (b) {
  return ew.minimum(this, b);
};
p.maximum = function (b) {
  return ew.maximum(this, b);
};
p.eq = function (b) {
  return ew.eq(this, b);
};
p.ne = function (b) {
  return ew.ne(this, b);
};
p.lt = function (b) {
  return ew.lt(this, b);
};
p.le = function (b) {
  return ew.le(this, b);
};
p.gt = function (b) {
  return ew.gt(this, b);
};
p.ge = function (b) {
  return ew.ge(this, b);
};
p.neg = function () {
  return ew.neg(this);
};
p.exp = function () {
  return ew.exp(this);
};
p.log = function () {
  return ew.log(this);
};
p.sqrt = function () {
  return ew.sqrt(this);
};
p.abs = function () {
  return ew.abs(this);
};
p.tanh = function () {
  return ew.tanh(this);
};
p.sigmoid = function () {
  return ew.sigmoid(this);
};
p.relu = function () {
  return ew.relu(this);
};
p.sign = function () {
  return ew.sign(this);
};
p.square = function () {
  return ew.square(this);
};
p.cast = function (dtype) {
  return ew.cast(this, dtype);
};
p.clone = function () {
  return ew.cast(this, this.dtype);
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
p.flatten = function () {
  return so.flatten(this);
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
