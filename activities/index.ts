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

/** Progress details become heartbeats (shown in the UI's pending activities); the SDK throttles them. */
function heartbeater(): (details: unknown) => void {
  const ctx = Context.current();
  return (details) => ctx.heartbeat(details);
}

export function createActivities(deps: ActivityDeps) {
  return withErrorClassification({
    async resolveRun(input: {
      configPath?: string;
      config?: Record<string, unknown>;
      overrides?: string[];
      runId: string;
    }): Promise<RunPlan> {
      return pipeline.resolveRun(input, deps.projectRoot);
    },

    async prepareData(input: { runDir: string }): Promise<PreparedDatasetInfo> {
      return pipeline.prepareRunData(input.runDir, deps.projectRoot, { onProgress: heartbeater() });
    },

    async trainEpoch(input: { runDir: string; epoch: number; cachePath: string }): Promise<EpochSummary> {
      const ctx = Context.current();
      return pipeline.trainRunEpoch(input.runDir, input.epoch, input.cachePath, {
        onProgress: heartbeater(),
        signal: ctx.cancellationSignal,
      });
    },

    async evaluate(input: { runDir: string; epoch: number; cachePath: string; final?: boolean }): Promise<EvalSummary> {
      return pipeline.evaluateRun(input.runDir, input.epoch, input.cachePath, { onProgress: heartbeater(), final: input.final });
    },

    async writeReport(input: { runDir: string }): Promise<{ reportPath: string }> {
      return pipeline.writeRunReport(input.runDir);
    },

    async datasetFingerprint(input: { configPath?: string; config?: Record<string, unknown>; overrides?: string[] }): Promise<{ manifestHash: string; configName: string }> {
      return pipeline.datasetFingerprint(input, deps.projectRoot);
    },

    async readChampion(input: { championDir: string }): Promise<Champion | null> {
      return pipeline.readChampion(input.championDir, deps.projectRoot);
    },

    async promoteChampion(input: { championDir: string; runDir: string; manifestHash: string }): Promise<Champion> {
      return pipeline.promoteChampion(input.championDir, input.runDir, input.manifestHash, deps.projectRoot);
    },

    async exportModel(input: { runDir: string; cachePath: string }): Promise<{ modelDir: string }> {
      return pipeline.exportRunModel(input.runDir, input.cachePath);
    },
  });
}
