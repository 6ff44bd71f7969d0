export {
  type CellKind,
  cellEnv,
  cellSpec,
  cotangents,
  type EagerResult,
  eagerScan,
  GATES,
  steps,
} from './cells.js';
