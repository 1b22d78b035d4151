// The small values that cross Temporal between workflows and activities: paths, ids, numbers.
// Never images, tensors or weights (those stay in the run directory). The activities' results are the
// pipeline's own types; they are only re-exported here (type-only, so workflow code stays free of the library).

import type { RunPlan } from '../src/pipeline/resolve';
import type { PreparedDataset as PreparedDatasetInfo } from '../src/data/prepare';
import type { EpochSummary } from '../src/train/state';
import type { TrainedEpochs } from '../src/pipeline/train';
import type { EvalResult as EvalSummary } from '../src/pipeline/evaluate';
import type { ChampionRecord as Champion } from '../src/pipeline/champion';

export type { RunPlan, PreparedDatasetInfo, EpochSummary, TrainedEpochs, EvalSummary, Champion };

export interface TrainInput {
  /** A YAML config path (relative to the worker's working directory, or absolute). */
  configPath?: string;
  /** Or an inline config object (the same fields as the YAML). */
  config?: Record<string, unknown>;
  /** `path.to.field=value` overrides applied on top. */
  overrides?: string[];
  /** Run directory name under runsDir; default: the workflow id. */
  runId?: string;
  /** Queue names, for deployments that do not use the defaults. */
  taskQueues?: { cpu?: string; accel?: string };
  /** How long a training activity may go without a heartbeat before it is retried elsewhere (default 30s). */
  heartbeatTimeout?: string;
  /** Set by continue-as-new; users leave it out. */
  continuation?: Continuation;
}

export interface Continuation {
  plan: RunPlan;
  dataset: PreparedDatasetInfo;
  nextEpoch: number;
  best: EvalSummary | null;
  lastEval: EvalSummary | null;
  epochSeconds: number[];
  lastEpoch: EpochSummary | null;
  ranOn: string | null;
}


export interface TrainResult {
  runId: string;
  runDir: string;
  epochs: number;
  best: EvalSummary | null;
  final: EvalSummary | null;
  reportPath: string | null;
  modelDir: string | null;
  /** The epoch whose checkpoint <runDir>/model holds (config export.checkpoint). */
  exportedEpoch: number | null;
  /**
   * That checkpoint's test accuracy and AUC, as its sidecar states them: what a retrain compares and a champion
   * records (with export.checkpoint best-validation, not the last evaluation's).
   */
  exportedTest: { accuracy: number; auc: number } | null;
  stoppedEarly: boolean;
}

export interface Progress {
  phase: 'resolving' | 'preparing-data' | 'training' | 'evaluating' | 'reporting' | 'done' | 'stopping';
  runId: string | null;
  epoch: number;
  totalEpochs: number;
  lastLoss: number | null;
  lr: number | null;
  bestAccuracy: number | null;
  bestEpoch: number | null;
  etaSeconds: number | null;
  stopAfterEpoch: number | null;
  /** What the training activities ran on, e.g. 'tensorflow on CPU' (also in the memo as ranOn). */
  ranOn: string | null;
}

export interface RetrainInput {
  configPath?: string;
  config?: Record<string, unknown>;
  overrides?: string[];
  /** Where the champion lives: its exported model and champion.json (relative to the worker's root or absolute). */
  championDir: string;
  /** Start the challenger from the champion's weights (model.initFrom). */
  warmStart?: boolean;
  taskQueues?: { cpu?: string; accel?: string };
}

export interface RetrainResult {
  skipped: boolean;
  reason: string;
  promoted: boolean;
  challenger: TrainResult | null;
  champion: Champion | null;
}

export interface SweepInput {
  configPath?: string;
  config?: Record<string, unknown>;
  /** Overrides for every trial. */
  overrides?: string[];
  /** One list of overrides per trial, e.g. [["optimizer.learningRate=0.001"], ["optimizer.learningRate=0.0003"]]. */
  trials: string[][];
  /** Trials running at once. */
  parallelism?: number;
  taskQueues?: { cpu?: string; accel?: string };
}

export interface SweepTrialResult {
  trial: number;
  overrides: string[];
  workflowId: string;
  result: TrainResult | null;
  error: string | null;
}

export interface SweepResult {
  trials: SweepTrialResult[];
  /** Index into trials of the best final accuracy, or null when none finished. */
  best: number | null;
}
