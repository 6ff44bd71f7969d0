import type { DType } from '../dtype.js';
import type { UnaryOp } from '../expr.js';
import type { OpDef } from '../op.js';
import { type BinaryOpName, binaryOps, castOp, unaryOps, whereOp } from './elementwise.js';
import { fullLikeOp, fullOp } from './fill.js';
import { gatherOp, scatterAddOp } from './index-ops.js';
import { matmulOp } from './matmul.js';
import { crossEntropyOp, logSoftmaxOp, oneHotOp, softmaxOp } from './nn.js';
import { argmaxOp, argminOp, logsumexpOp, maxOp, meanOp, minOp, type ReduceAttrs, sumOp } from './reduce.js';
import { broadcastToOp, concatOp, padOp, reshapeOp, sliceOp, transposeOp } from './shape-ops.js';

type NoAttrs = Record<string, never>;

/** The attributes of every built-in op, by name. Adding an op starts here. */
export type OpAttrs = { [K in UnaryOp | BinaryOpName | 'where']: NoAttrs } & {
  cast: { dtype: DType };
  full: { shape: number[]; value: number; dtype: DType };
  fullLike: { value: number; dtype: DType };
  matmul: { transA: boolean; transB: boolean };
  sum: ReduceAttrs;
  max: ReduceAttrs;
  min: ReduceAttrs;
  mean: ReduceAttrs;
  logsumexp: ReduceAttrs;
  argmax: { axis: number; keepDims: boolean };
  argmin: { axis: number; keepDims: boolean };
  reshape: { shape: number[] };
  transpose: { perm: number[] };
  slice: { begin: number[]; end: number[] };
  pad: { pads: [number, number][]; value: number };
  concat: { axis: number };
  broadcastTo: { shape: number[] };
  gather: { axis: number };
  scatterAdd: { axis: number };
  softmax: { axis: number };
  logSoftmax: { axis: number };
  oneHot: { depth: number };
  crossEntropy: { ignoreIndex: number; reduction: 'mean' | 'sum' | 'none'; labelSmoothing: number };
};

export type OpName = keyof OpAttrs;

/**
 * Every built-in op. The type requires an entry for each name in `OpAttrs`, so a table keyed by
 * op name elsewhere (graph-compiler rules, backend overrides) is checked for completeness too.
 */
export const OPS: { readonly [K in OpName]: OpDef<OpAttrs[K]> } = {
  ...unaryOps,
  ...binaryOps,
  where: whereOp,
  cast: castOp,
  full: fullOp,
  fullLike: fullLikeOp,
  matmul: matmulOp,
  sum: sumOp,
  max: maxOp,
  min: minOp,
  mean: meanOp,
  logsumexp: logsumexpOp,
  argmax: argmaxOp,
  argmin: argminOp,
  reshape: reshapeOp,
  transpose: transposeOp,
  slice: sliceOp,
  pad: padOp,
  concat: concatOp,
  broadcastTo: broadcastToOp,
  gather: gatherOp,
  scatterAdd: scatterAddOp,
  softmax: softmaxOp,
  logSoftmax: logSoftmaxOp,
  oneHot: oneHotOp,
  crossEntropy: crossEntropyOp,
};
