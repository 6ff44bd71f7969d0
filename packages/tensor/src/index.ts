import './methods.js';

export { apply, applyEager, isIntercepted, type OpInterceptor, withInterceptor } from './apply.js';
export { type BackwardOptions, backward } from './autograd.js';
export type {
  Backend,
  BackendBuffer,
  BackendCapabilities,
  CopyCall,
  ElementwiseCall,
  ElementwiseOutput,
  GatherCall,
  MatmulCall,
  MemoryInfo,
  ReduceCall,
  ReduceOp,
  ScatterAddCall,
  StridedView,
} from './backend.js';
export {
  arange,
  type CreateOptions,
  eye,
  fill,
  fromData,
  fullLike,
  ones,
  type RandomOptions,
  rand,
  randn,
  tensor,
  zeros,
} from './creation.js';
export {
  type AnyTypedArray,
  allocTyped,
  bytesPerElement,
  DTYPES,
  type DType,
  isFloat,
  promote,
} from './dtype.js';
export { Engine, engine, getBackend, keep, noGrad, setBackend, tidy, withBackend } from './engine.js';
export { BackendError, DisposedError, DTypeError, GradError, RecurError, ShapeError } from './errors.js';
export {
  BINARY_OPS,
  type BinaryOp,
  binaryScalar,
  COMPARISONS,
  type Expr,
  evalExpr,
  ex,
  exprArity,
  exprChildren,
  exprKey,
  renderShared,
  UNARY_OPS,
  type UnaryOp,
  unaryScalar,
} from './expr.js';
export { type Edge, GradNode } from './grad-node.js';
export type { OpDef, VjpContext } from './op.js';
export {
  abs,
  add,
  cast,
  div,
  eq,
  exp,
  ge,
  gt,
  le,
  log,
  lt,
  maximum,
  minimum,
  mul,
  ne,
  neg,
  pow,
  relu,
  sigmoid,
  sign,
  sqrt,
  square,
  sub,
  tanh,
  where,
} from './ops/elementwise.js';
export { onesLike, zerosLike } from './ops/fill.js';
export { gather, scatterAdd } from './ops/index-ops.js';
export { matmul } from './ops/matmul.js';
export { type CrossEntropyOptions, crossEntropy, logSoftmax, oneHot, softmax } from './ops/nn.js';
export { argmax, argmin, logsumexp, max, mean, min, sum } from './ops/reduce.js';
export {
  broadcastTo,
  concat,
  expandDims,
  flatten,
  pad,
  reshape,
  slice,
  split,
  squeeze,
  stack,
  transpose,
} from './ops/shape-ops.js';
export { OPS, type OpAttrs, type OpName } from './ops/table.js';
export { scalar, type TensorLike } from './ops/util.js';
export { Rng, type RngState } from './random.js';
export { type BackendEntry, BackendRegistry, checkBackend } from './registry.js';
export { broadcastShapes, type Shape, sizeOf, stridesOf } from './shape.js';
export { Storage } from './storage.js';
export { type NestedArray, Tensor, type TensorMeta } from './tensor.js';
