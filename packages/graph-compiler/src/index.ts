export { GraphBuilder } from './builder.js';
export {
  CompiledScan,
  type CompileOptions,
  type CompileStats,
  compileScan,
  optimizeGraph,
  optimizeProgram,
} from './compile.js';
export { Executable } from './executable.js';
export { execute } from './execute.js';
export { cotangentName, type GradGraph, gradGraph } from './grad.js';
export {
  type Graph,
  isElementwise,
  isOp,
  metaOf,
  type Node,
  type OpNode,
  rebuild,
  type SourceKind,
  type SourceNode,
} from './ir.js';
export { type Kernel, type LogicalBuffer, type Lowered, lower, type Slot } from './lower.js';
export { constantFold } from './passes/constant-fold.js';
export { cse } from './passes/cse.js';
export { dce } from './passes/dce.js';
export { groupGemms } from './passes/group-gemms.js';
export { hoist } from './passes/hoist.js';
export { sinkViews } from './passes/sink-views.js';
export { type MemoryPlan, planMemory } from './plan.js';
export { countOps, graphToDot, graphToMermaid, printGraph } from './print.js';
export {
  type Block,
  bodySource,
  interpret,
  type Loop,
  type LoopOutput,
  type Program,
  printProgram,
  type Stage,
  sourcesOf,
} from './program.js';
export {
  extract,
  forwardProgram,
  names,
  type ScanSpec,
  type StepFn,
  type StepGraph,
  type TrainPrograms,
  traceStep,
  trainPrograms,
  unroll,
  type ValueSpec,
} from './scan.js';
export { type TraceResult, trace } from './trace.js';
export { GraphError, verify } from './verify.js';
