export {
  type ChunkForward,
  type ChunkSpan,
  detachState,
  disposeState,
  type LayerLike,
  type LayerState,
  layerChunkForward,
  mapState,
  type RecurrentState,
  stateTensors,
  type TruncatedBpttOptions,
  type TruncatedBpttResult,
  truncatedBptt,
  truncatedBpttAsync,
} from './bptt.js';
export {
  BEST_FILE,
  type CheckpointFiles,
  type CheckpointManifest,
  type CheckpointModel,
  type CheckpointParts,
  type CheckpointTrainer,
  checkModelMatches,
  createCheckpoint,
  createCheckpointAsync,
  fnv1a,
  MANIFEST_FILE,
  parseManifest,
  type RestoreTargets,
  restoreCheckpoint,
  WEIGHTS_FILE,
} from './checkpoint.js';
export {
  type ClipGradNormOptions,
  clipGradNorm,
  clipGradNormAsync,
  clipGradValue,
  gradNorm,
  gradNormAsync,
} from './clip.js';
export { CheckpointError, NonFiniteLossError, TrainError } from './errors.js';
export { type TimeStepGradientOptions, type TimeStepGradients, timeStepGradientNorms } from './grad-norms.js';
export {
  type BinaryLossOptions,
  binaryCrossEntropy,
  binaryCrossEntropyWithLogits,
  type ClassLossOptions,
  type CrossEntropyLossOptions,
  crossEntropyLoss,
  mseLoss,
  nllLoss,
  type Reduction,
  type RegressionLossOptions,
} from './losses.js';
export {
  accuracy,
  type ClassMetricOptions,
  confusionMatrix,
  type HostBatch,
  hostBatch,
  hostBatchAsync,
  type Metric,
  type MetricValue,
  mae,
  perClassAccuracy,
  perplexity,
  rmse,
  type StepOutput,
} from './metrics.js';
export { Adagrad, type AdagradOptions } from './optim/adagrad.js';
export { Adam, type AdamOptions, AdamW } from './optim/adam.js';
export {
  type Hyperparameters,
  namedParametersOf,
  Optimizer,
  type OptimizerState,
  type ParameterSource,
  type ParameterState,
  type SlotState,
} from './optim/optimizer.js';
export { RMSprop, type RMSpropOptions } from './optim/rmsprop.js';
export { SGD, type SGDOptions } from './optim/sgd.js';
export {
  captureRngStates,
  collectRngs,
  type RngSnapshot,
  restoreRngStates,
  rngState,
  setRngState,
} from './rng-state.js';
export {
  applyLr,
  CosineLR,
  type CosineLROptions,
  ExponentialLR,
  type ExponentialLROptions,
  LinearWarmup,
  type LinearWarmupOptions,
  LrScheduler,
  ReduceLROnPlateau,
  type ReduceLROnPlateauOptions,
  type ScheduleInterval,
  type SchedulerState,
  StepLR,
  type StepLROptions,
  schedulersOf,
} from './schedules.js';
export { decodeTensor, type EncodedTensor, encodeTensor, encodeTensorAsync } from './tensor-codec.js';
export {
  type BatchLogs,
  type Callbacks,
  type DataSource,
  type EarlyStoppingOptions,
  type EpochLogs,
  type EvalResult,
  epochRng,
  fit,
  type History,
  type StepContext,
  type StepFn,
  type TrainableModel,
  Trainer,
  type TrainerOptions,
  type TrainerState,
} from './trainer.js';
