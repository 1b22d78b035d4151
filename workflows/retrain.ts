// retrainFaceNet, the target of a Temporal Schedule: skip when the dataset's content fingerprint (the
// SHA-256 of every file, src/data/fingerprint.ts) has not changed since the champion was trained; otherwise train a challenger (optionally warm-started from the champion),
// and promote it only when it beats the champion on the same evaluation protocol. Both are judged by the model
// they export (export.checkpoint: with best-validation, that is not the last evaluated epoch).
import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import type { RetrainInput, RetrainResult } from '../activities/types';
import { CPU_TASK_QUEUE } from '../temporal/task-queues';
import { runTrainingChild } from './training-child';
import { challengerIdFor, runIdFor } from './run-id';

type Activities = ReturnType<typeof createActivities>;

export async function retrainFaceNet(input: RetrainInput): Promise<RetrainResult> {
  const cpu = proxyActivities<Activities>({
    taskQueue: input.taskQueues?.cpu ?? CPU_TASK_QUEUE,
    // Fingerprinting LFW hashes 13k files (~15 s cold, under a second from the hash cache): not hours.
    startToCloseTimeout: '30m',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
  });
  const request = { configPath: input.configPath, config: input.config, overrides: input.overrides };
  const [{ manifestHash }, champion] = await Promise.all([cpu.datasetFingerprint(request), cpu.readChampion({ championDir: input.championDir })]);

  if (champion && champion.manifestHash === manifestHash) {
    return {
      skipped: true,
      reason: `the dataset is unchanged since champion ${champion.runId} was trained (content fingerprint ${manifestHash.slice(0, 16)})`,
      promoted: false,
      challenger: null,
      champion,
    };
  }

  const overrides = [...(input.overrides ?? [])];
  if (input.warmStart && champion) overrides.push(`model.initFrom=${champion.modelDir}`);
  const challengerId = challengerIdFor(workflowInfo().workflowId, workflowInfo().runId);
  const challenger = await runTrainingChild(challengerId, { ...request, overrides, runId: runIdFor(challengerId), taskQueues: input.taskQueues });

  const accuracy = challenger.exportedTest?.accuracy ?? null;
  if (accuracy === null) {
    return { skipped: false, reason: "the challenger's exported checkpoint has no evaluation", promoted: false, challenger, champion };
  }
  if (champion && accuracy <= champion.accuracy) {
    return {
      skipped: false,
      reason: `challenger accuracy ${accuracy.toFixed(4)} does not beat champion ${champion.runId} (${champion.accuracy.toFixed(4)})`,
      promoted: false,
      challenger,
      champion,
    };
  }
  const promoted = await cpu.promoteChampion({ championDir: input.championDir, runDir: challenger.runDir, manifestHash });
  const reason = champion
    ? `challenger accuracy ${accuracy.toFixed(4)} beats champion ${champion.runId} (${champion.accuracy.toFixed(4)})`
    : 'there was no champion yet';
  return { skipped: false, reason, promoted: true, challenger, champion: promoted };
}
