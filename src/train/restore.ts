// The model of a checkpoint, for evaluation or export in a process that does not train: builds the
// architecture from the run config and loads the weights, or their average when the run averages them
// (training.averageWeights); the optimiser slots are not read.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { RunConfig } from '../config/schema';
import { buildEmbeddingModel } from '../model';
import { loadLatestCheckpoint, readCheckpoint, verifyCheckpoint } from './checkpoint';
import type { TrainingState } from './state';
import { setModelWeightsFromArrays } from './weights';
import { CheckpointError } from './errors';

export interface CheckpointModel {
  model: LayersModel;
  /** The checkpoint directory the weights came from. */
  checkpointPath: string;
  state: TrainingState;
  /** Epoch ends averaged into the weights (training.averageWeights); 0 = the raw weights of the checkpoint. */
  averagedEpochs: number;
  /** Damaged checkpoints skipped (only when picking the latest). */
  warnings: string[];
}

/**
 * Loads `checkpointPath` (verified first; a damaged one throws naming why), or, when it is omitted,
 * the newest valid checkpoint in `<runDir>/checkpoints`.
 */
export async function loadCheckpointModel(o: {
  config: RunConfig;
  inputShape: [number, number, number];
  runDir?: string;
  checkpointPath?: string;
}): Promise<CheckpointModel> {
  let ck;
  let warnings: string[] = [];
  if (o.checkpointPath) {
    if (!existsSync(o.checkpointPath)) throw new CheckpointError(`Checkpoint ${o.checkpointPath} does not exist: the run has not trained that far, or it was pruned (training.keepLastCheckpoints).`, o.checkpointPath);
    const problem = await verifyCheckpoint(o.checkpointPath);
    if (problem) throw new CheckpointError(`Checkpoint ${o.checkpointPath} is damaged: ${problem}.`, o.checkpointPath);
    ck = await readCheckpoint(o.checkpointPath);
  } else if (o.runDir) {
    const dir = path.join(o.runDir, 'checkpoints');
    const latest = await loadLatestCheckpoint(dir);
    if (!latest.checkpoint) throw new CheckpointError(`No valid checkpoint in ${dir}${latest.warnings.length ? ` (${latest.warnings.join(' ')})` : ''}; train at least one epoch first.`, dir);
    ck = latest.checkpoint;
    warnings = latest.warnings;
  } else {
    throw new Error('loadCheckpointModel needs a checkpointPath or a runDir.');
  }
  const model = buildEmbeddingModel({ ...o.config.model, inputShape: o.inputShape, seed: o.config.training.seed });
  try {
    // A run that averages its weights (training.averageWeights) is evaluated and exported with the average.
    if (ck.average) setModelWeightsFromArrays(model, ck.average.weights, path.join(ck.path, 'average.json'));
    else setModelWeightsFromArrays(model, ck.weights, path.join(ck.path, 'weights.json'));
  } catch (err) {
    model.dispose();
    throw err;
  }
  return { model, checkpointPath: ck.path, state: ck.state, averagedEpochs: ck.average?.epochs ?? 0, warnings };
}
