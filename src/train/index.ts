// The training layer: optimisers, LR schedules, checkpoints, the epoch loop, sessions and export.
export { createOptimizer, clipFlatGradient, flatNorm, Optimizer, type OptimizerOptions, type OptimizerState, type SlotArray, type NamedVariable } from './optimizers';
export { learningRateAt } from './schedule';
export {
  writeCheckpoint,
  readCheckpoint,
  loadLatestCheckpoint,
  listCheckpoints,
  verifyCheckpoint,
  pruneCheckpoints,
  cleanTempDirs,
  checkpointName,
  parseCheckpointName,
  type LoadedCheckpoint,
} from './checkpoint';
export type { TrainingState, CheckpointContents, BatchSource, TrainBatch, StepProgress, EpochSummary, EpochAccumulator } from './state';
export { trainEpoch, saveCheckpoint, type TrainContext, type EpochOptions } from './trainer';
export { trainStep, defaultEmbed, type LossFn, type EmbedFn, type StepResult } from './step';
export { NonFiniteLossError, TensorLeakError, CheckpointError } from './errors';
export { createTrainingSession, type SessionOptions, type TrainingSession } from './session';
export { readBest, recordBest, BEST_FILE, type BestRecord } from './best';
export { datasetBatchSource, runDataOf, AUGMENT_PURPOSE, type RunData, type DatasetBatchSource, type DatasetSourceOptions } from './dataset-source';
export { syntheticBatchSource, type SyntheticSourceOptions } from './synthetic';
export { embedAll, embedBatches, type ImageBatchFn } from './embed-all';
export { exportModel, loadExportedModel, MODEL_JSON, WEIGHTS_BIN, SIDECAR_JSON, type FaceNetSidecar, type ExportOptions, type ExportedEvaluation } from './export';
export { modelWeightsToArrays, setModelWeightsFromArrays } from './weights';
export { loadCheckpointModel, type CheckpointModel } from './restore';
