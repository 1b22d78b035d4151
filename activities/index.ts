// Temporal activities: the thin seam between workflows and the FaceNet library. Each one heartbeats,
// listens for cancellation and is idempotent (a retry finds what is already done in the run directory).
import { Context } from '@temporalio/activity';
import * as pipeline from '../src/pipeline';
import type { Champion, EpochSummary, EvalSummary, PreparedDatasetInfo, RunPlan } from './types';
import { withErrorClassification } from './classify-errors';

export interface ActivityDeps {
  /** Relative config paths, dataset folders and runsDir resolve against this. */
  projectRoot: string;
}

/**
 * Progress details become heartbeats (shown in the UI's pending activities); the SDK throttles them.
 * Some phases report progress rarely (indexing 13k LFW files, hashing a large cache), so the last
 * details are also re-sent every few seconds while the activity runs, to keep it from timing out.
 */
async function withHeartbeats<T>(run: (onProgress: (details: unknown) => void) => Promise<T>, first: object = {}): Promise<T> {
  const ctx = Context.current();
  // The first heartbeat goes out at once (later ones are throttled), so it says which unit of work this is.
  let last: unknown = { phase: 'starting', ...first };
  const beat = (details: unknown) => {
    last = details;
    ctx.heartbeat(details);
  };
  const timer = setInterval(() => ctx.heartbeat(last), 5000);
  try {
    beat(last);
    return await run(beat);
  } finally {
    clearInterval(timer);
  }
}

export function createActivities(deps: ActivityDeps) {
  return withErrorClassification({
    async resolveRun(input: {
      configPath?: string;
      config?: Record<string, unknown>;
      overrides?: string[];
      runId: string;
    }): Promise<RunPlan> {
      return withHeartbeats(async () => pipeline.resolveRun(input, deps.projectRoot));
    },

    async prepareData(input: { runDir: string }): Promise<PreparedDatasetInfo> {
      return withHeartbeats((onProgress) => pipeline.prepareRunData(input.runDir, deps.projectRoot, { onProgress }));
    },

    /** One epoch; workflows recorded before epochs were grouped replay with it. */
    async trainEpoch(input: { runDir: string; epoch: number; cachePath: string; deferCheckpoint?: boolean }): Promise<EpochSummary> {
      const signal = Context.current().cancellationSignal;
      return withHeartbeats(
        (onProgress) => pipeline.trainRunEpoch(input.runDir, input.epoch, input.cachePath, { onProgress, signal, deferCheckpoint: input.deferCheckpoint }),
        { epoch: input.epoch },
      );
    },

    /**
     * Epochs firstEpoch..lastEpoch in order, each ending with its checkpoint (all but the last written on a
     * worker thread while the next trains; the last one too when deferLastCheckpoint). A retry skips the
     * epochs already done and continues from the latest checkpoint.
     */
    async trainEpochs(input: { runDir: string; firstEpoch: number; lastEpoch: number; cachePath: string; deferLastCheckpoint?: boolean }): Promise<EpochSummary[]> {
      const signal = Context.current().cancellationSignal;
      return withHeartbeats(
        (onProgress) => pipeline.trainRunEpochs(input.runDir, input.firstEpoch, input.lastEpoch, input.cachePath, { onProgress, signal, deferLastCheckpoint: input.deferLastCheckpoint }),
        { epoch: input.firstEpoch, lastEpoch: input.lastEpoch },
      );
    },

    async evaluate(input: { runDir: string; epoch: number; cachePath: string; final?: boolean }): Promise<EvalSummary> {
      return withHeartbeats((onProgress) => pipeline.evaluateRun(input.runDir, input.epoch, input.cachePath, { onProgress, final: input.final }), { epoch: input.epoch });
    },

    async writeReport(input: { runDir: string }): Promise<{ reportPath: string }> {
      return withHeartbeats(() => pipeline.writeRunReport(input.runDir));
    },

    async datasetFingerprint(input: { configPath?: string; config?: Record<string, unknown>; overrides?: string[] }): Promise<{ manifestHash: string; configName: string }> {
      return withHeartbeats(() => pipeline.datasetFingerprint(input, deps.projectRoot));
    },

    async readChampion(input: { championDir: string }): Promise<Champion | null> {
      return pipeline.readChampion(input.championDir, deps.projectRoot);
    },

    async promoteChampion(input: { championDir: string; runDir: string; manifestHash: string }): Promise<Champion> {
      return withHeartbeats(async () => pipeline.promoteChampion(input.championDir, input.runDir, input.manifestHash, deps.projectRoot));
    },

    async exportModel(input: { runDir: string; cachePath: string }): Promise<{ modelDir: string }> {
      return withHeartbeats(() => pipeline.exportRunModel(input.runDir, input.cachePath));
    },
  });
}
