// Temporal activities: the thin seam between workflows and the FaceNet library. Each one heartbeats,
// listens for cancellation and is idempotent (a retry finds what is already done in the run directory).
// What they share across calls (the backend, the open training sessions) is injected.
import { Context } from '@temporalio/activity';
import * as pipeline from '../src/pipeline';
import type { FacenetEnv } from '../src/config/env';
import type { Champion, EvalSummary, PreparedDatasetInfo, RunPlan, TrainedEpochs } from './types';
import { withErrorClassification } from './classify-errors';

export interface ActivityDeps {
  /** Relative config paths, dataset folders and runsDir resolve against this. */
  projectRoot: string;
  /** The worker's training sessions and backend (one per worker process). */
  sessions: pipeline.Sessions;
  env: FacenetEnv;
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

/** A worker process's dependencies, from its validated environment (src/config/env.ts). */
export function workerActivityDeps(env: FacenetEnv, cwd = process.cwd()): ActivityDeps {
  return { projectRoot: env.FACENET_ROOT ?? cwd, sessions: new pipeline.Sessions(new pipeline.WorkerBackend(env)), env };
}

export function createActivities(deps: ActivityDeps) {
  const { projectRoot, sessions, env } = deps;
  return withErrorClassification({
    async resolveRun(input: {
      configPath?: string;
      config?: Record<string, unknown>;
      overrides?: string[];
      runId: string;
    }): Promise<RunPlan> {
      return withHeartbeats(async () => pipeline.resolveRun(input, projectRoot));
    },

    async prepareData(input: { runDir: string }): Promise<PreparedDatasetInfo> {
      return withHeartbeats((onProgress) => pipeline.prepareRunData(input.runDir, projectRoot, { onProgress, env }));
    },

    /**
     * Epochs firstEpoch..lastEpoch (counted from 1) in order; each epoch's checkpoint is on disk before the
     * next starts, so all of them are when this completes. A retry continues from the newest checkpoint.
     */
    async trainEpochs(input: { runDir: string; firstEpoch: number; lastEpoch: number; cachePath: string }): Promise<TrainedEpochs> {
      const ctx = Context.current();
      const range = { firstEpoch: input.firstEpoch, lastEpoch: input.lastEpoch };
      // A stop asked for (a cancel, the worker shutting down) saves the steps done; an attempt that timed out or
      // that the server no longer knows (a paused worker waking up) writes nothing: another attempt owns the run.
      const checkpointOnCancel = () => !(ctx.cancellationDetails?.timedOut || ctx.cancellationDetails?.notFound);
      return withHeartbeats(
        (onProgress) => pipeline.trainRunEpochs(sessions, input.runDir, range, input.cachePath, { onProgress, signal: ctx.cancellationSignal, checkpointOnCancel }),
        { epoch: input.firstEpoch, ...range },
      );
    },

    async evaluate(input: { runDir: string; epoch: number; cachePath: string; final?: boolean }): Promise<EvalSummary> {
      return withHeartbeats((onProgress) => pipeline.evaluateRun(sessions, input.runDir, input.epoch, input.cachePath, { onProgress, final: input.final }), { epoch: input.epoch });
    },

    async writeReport(input: { runDir: string }): Promise<{ reportPath: string }> {
      return withHeartbeats(() => pipeline.writeRunReport(input.runDir));
    },

    async datasetFingerprint(input: { configPath?: string; config?: Record<string, unknown>; overrides?: string[] }): Promise<{ manifestHash: string; configName: string }> {
      return withHeartbeats(() => pipeline.datasetFingerprint(input, projectRoot));
    },

    async readChampion(input: { championDir: string }): Promise<Champion | null> {
      return pipeline.readChampion(input.championDir, projectRoot);
    },

    async promoteChampion(input: { championDir: string; runDir: string; manifestHash: string }): Promise<Champion> {
      return withHeartbeats(async () => pipeline.promoteChampion(input.championDir, input.runDir, input.manifestHash, projectRoot));
    },

    /** The model in the tfjs format, in <runDir>/model: after `epoch` (the run's last), or the best by validation (export.checkpoint). */
    async exportModel(input: { runDir: string; epoch: number; cachePath: string }): Promise<pipeline.ExportedRun> {
      return withHeartbeats(() => pipeline.exportRunModel(sessions, input.runDir, input.epoch, input.cachePath));
    },
  });
}
