export { execute } from './execute.js';
export {
  type Graph,
  isOp,
  metaOf,
  type Node,
  type OpNode,
  rebuild,
  type SourceKind,
  type SourceNode,
} from './ir.js';
export { constantFold } from './passes/constant-fold.js';
export { cse } from './passes/cse.js';
export { dce } from './passes/dce.js';
export { countOps, printGraph } from './print.js';
export { type TraceResult, trace } from './trace.js';
export { GraphError, verify } from './verify.js';
