export {
  BENCH_OPTIONS,
  type BenchArgValues,
  type BenchIo,
  type BenchOptionInfo,
  benchOptionsFrom,
  parseShape,
  runBenchFromArgs,
} from './args.js';
export { DEFAULT_SETTLE_MS, defaultIsolation, ISOLATIONS, type Isolation } from './isolation.js';
export { type CheckResult, makeProblem, type Problem, type Weights } from './problem.js';
export { liveSystemProcesses } from './process.js';
export { formatReport } from './report.js';
export {
  type BenchCheck,
  BenchCheckError,
  type BenchOptions,
  type BenchReport,
  type BenchRow,
  type BenchSkip,
  compareWithOurs,
  runBench,
  TOLERANCE,
} from './run.js';
export { summarize } from './stats.js';
export { SYSTEMS, type SystemSpec } from './systems/index.js';
export {
  DEFAULT_GROUPS,
  flopsOf,
  type Mode,
  type Shape,
  selectWorkloads,
  WORKLOADS,
  type Workload,
} from './workloads.js';
