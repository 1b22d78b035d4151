// sweepFaceNet: a hyper-parameter sweep as child trainFaceNet workflows, at most `parallelism` at a time.
// A failed trial is recorded, not fatal: the others still finish. The `trials` query says where each trial is.
import { defineQuery, isCancellation, setHandler, workflowInfo } from '@temporalio/workflow';
import type { SweepInput, SweepResult, SweepTrialResult } from '../activities/types';
import { runTrainingChild } from './training-child';
import { runIdFor } from './run-id';
import { isBetter } from './selection';

export interface SweepTrialState extends SweepTrialResult {
  state: 'waiting' | 'running' | 'done' | 'failed';
}

/** Every trial with its state: what `facenet status <sweep-id>` and the sweep's progress show. */
export const sweepTrialsQuery = defineQuery<SweepTrialState[]>('trials');

export async function sweepFaceNet(input: SweepInput): Promise<SweepResult> {
  const parallelism = Math.max(1, input.parallelism ?? 2);
  const results: SweepTrialResult[] = input.trials.map((overrides, trial) => ({
    trial,
    overrides,
    workflowId: `${workflowInfo().workflowId}-trial-${trial}`,
    result: null,
    error: null,
  }));
  let next = 0;
  setHandler(sweepTrialsQuery, () =>
    results.map((r, i) => ({ ...r, state: r.result ? 'done' : r.error !== null ? 'failed' : i < next ? 'running' : 'waiting' })),
  );
  const runLane = async (): Promise<void> => {
    while (next < results.length) {
      const entry = results[next++] as SweepTrialResult;
      try {
        entry.result = await runTrainingChild(entry.workflowId, {
          configPath: input.configPath,
          config: input.config,
          overrides: [...(input.overrides ?? []), ...entry.overrides],
          runId: runIdFor(entry.workflowId),
          taskQueues: input.taskQueues,
        });
      } catch (err) {
        // Cancelling the sweep cancels its trials: that ends the sweep (cancelled), it is no trial's failure.
        if (isCancellation(err)) throw err;
        entry.error = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
      }
    }
  };
  // Every lane settles first: when the sweep is cancelled, each waits for its trial to checkpoint and stop.
  const lanes = await Promise.allSettled(Array.from({ length: Math.min(parallelism, results.length) }, runLane));
  const failed = lanes.find((lane) => lane.status === 'rejected');
  if (failed) throw failed.reason;
  // By validation balanced accuracy when the trials have a validation set, else by test accuracy (see selection.ts).
  let best: number | null = null;
  results.forEach((r, i) => {
    const final = r.result?.final;
    if (final && isBetter(final, best === null ? null : (results[best]?.result?.final ?? null))) best = i;
  });
  return { trials: results, best };
}
