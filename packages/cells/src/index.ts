export {
  type CellGeometry,
  type CellInitOptions,
  cellParamShapes,
  type RecurrentInit,
} from './cell-params.js';
export {
  type CellOptions,
  GRUCell,
  type GRUCellOptions,
  LSTMCell,
  type LSTMCellOptions,
  type LSTMState,
  RNNCell,
  type RNNCellOptions,
} from './cells.js';
export { type CompileCacheStats, type DirectionResult, ScanCache } from './compiled.js';
export { Dropout, type DropoutOptions } from './dropout.js';
export {
  Embedding,
  type EmbeddingOptions,
  type FromPretrainedOptions,
  type KeyedVectorsLike,
} from './embedding.js';
export { CellsError, SafetensorsError, StateDictError } from './errors.js';
export { type FloatDType, type InitOptions, orthogonalValues } from './init.js';
export {
  GRU,
  type GRUForwardOptions,
  type GRUOptions,
  LSTM,
  type LSTMForwardOptions,
  type LSTMOptions,
  type LSTMOutput,
  RecurrentLayer,
  type RecurrentLayerOptions,
  RNN,
  type RNNForwardOptions,
  type RNNOptions,
  type RNNOutput,
  type SequenceOptions,
} from './layers.js';
export type { Lengths, PaddingMask } from './lengths.js';
export { Linear, type LinearOptions } from './linear.js';
export {
  type LoadStateDictOptions,
  type LoadStateDictResult,
  Module,
  type StateDict,
} from './module.js';
export {
  MAX_HEADER_BYTES,
  parseSafetensorsHeader,
  type ReadSafetensorsOptions,
  readSafetensors,
  type SafetensorsContents,
  type SafetensorsDType,
  type SafetensorsEntry,
  type SafetensorsHeader,
  writeSafetensors,
  writeSafetensorsAsync,
} from './safetensors.js';
export {
  dropoutMask,
  type RecurrentForwardOptions,
  type RecurrentForwardResult,
  type RecurrentMode,
  recurrentForward,
} from './sequence.js';
export {
  affine,
  type CellWeights,
  type GruStepOptions,
  gruStep,
  gruStepFromInput,
  lstmStep,
  lstmStepFromInput,
  type Nonlinearity,
  type RecurrentWeights,
  rnnStep,
  rnnStepFromInput,
} from './steps.js';
