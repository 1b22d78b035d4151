// trainFaceNet: prepare the dataset -> training activities of one or more epochs (each epoch ends with a
// checkpoint; short epochs are grouped, see epoch-groups.ts) ->
// evaluation every `evalEvery` epochs and at the end -> report and model export.
// Deterministic orchestration only: every fact about tensors, files and time comes from activities.
import {
  ActivityCancellationType,
  CancellationScope,
  CancelledFailure,
  continueAsNew,
  defineQuery,
  defineSignal,
  isCancellation,
  proxyActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Duration, RetryPolicy } from '@temporalio/common';
import type { createActivities } from '../activities';
import type { Continuation, EvalSummary, Progress, TrainInput, TrainResult, EpochSummary } from '../activities/types';
import { ACCEL_TASK_QUEUE, CPU_TASK_QUEUE } from '../temporal/task-queues';
import { runIdFor } from './run-id';
import { lastEpochOfGroup, typicalEpochSeconds } from './epoch-groups';
import { isBetter } from './selection';
import { BEST_ACCURACY_KEY, CONFIG_KEY, DATASET_KEY, EPOCH_KEY } from '../temporal/search-attributes';

type Activities = ReturnType<typeof createActivities>;

export const progressQuery = defineQuery<Progress>('progress');
/** Ends the run gracefully after the given epoch (default: the one in progress), with evaluation, report and export. */
export const stopAfterEpochSignal = defineSignal<[number?]>('stopAfterEpoch');

/** Keeps the event history small: a run of hundreds of epochs continues as new every this many epochs. */
const EPOCHS_PER_HISTORY = 25;

function activitiesFor(input: TrainInput) {
  const cpuQueue = input.taskQueues?.cpu ?? CPU_TASK_QUEUE;
  const accelQueue = input.taskQueues?.accel ?? ACCEL_TASK_QUEUE;
  const retry: RetryPolicy = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' };
  const cpu = proxyActivities<Activities>({
    taskQueue: cpuQueue,
    // Downloading and preprocessing LFW can take a while; heartbeats show it is alive.
    startToCloseTimeout: '6h',
    heartbeatTimeout: '2m',
    retry,
  });
  const accel = proxyActivities<Activities>({
    taskQueue: accelQueue,
    // One epoch of a full-size model on CPU can take hours; liveness comes from the heartbeat,
    // which is short so that a killed worker's epoch is retried (from its checkpoint) quickly.
    startToCloseTimeout: '24h',
    heartbeatTimeout: (input.heartbeatTimeout ?? '30s') as Duration,
    // Let the activity save a checkpoint before the workflow sees the cancellation.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry,
  });
  return { cpu, accel };
}

export async function trainFaceNet(input: TrainInput): Promise<TrainResult> {
  const { cpu, accel } = activitiesFor(input);
  const state: Continuation | null = input.continuation ?? null;
  const progress: Progress = {
    phase: 'resolving',
    runId: state?.plan.runId ?? null,
    epoch: state ? state.nextEpoch - 1 : 0,
    totalEpochs: state?.plan.epochs ?? 0,
    lastLoss: state?.lastEpoch?.meanLoss ?? null,
    lr: state?.lastEpoch?.lr ?? null,
    bestAccuracy: state?.best?.accuracy ?? null,
    bestEpoch: state?.best?.epoch ?? null,
    etaSeconds: null,
    stopAfterEpoch: null,
    ranOn: state?.ranOn ?? null,
  };
  setHandler(progressQuery, () => progress);
  // From the cancel request on (Ctrl-C, a cancelled sweep or retrain), not only once the training activity has
  // saved its checkpoint and given up: the progress of a run that is stopping says so.
  CancellationScope.current().cancelRequested.catch(() => (progress.phase = 'stopping'));
  setHandler(stopAfterEpochSignal, (epoch?: number) => {
    progress.stopAfterEpoch = epoch ?? Math.max(progress.epoch + 1, 1);
  });

  const plan =
    state?.plan ??
    (await cpu.resolveRun({
      configPath: input.configPath,
      config: input.config,
      overrides: input.overrides,
      runId: input.runId ?? runIdFor(workflowInfo().workflowId),
    }));
  progress.runId = plan.runId;
  progress.totalEpochs = plan.epochs;
  if (!state) {
    upsertSearchAttributes([
      { key: DATASET_KEY, value: plan.dataset },
      { key: CONFIG_KEY, value: plan.configName },
    ]);
    upsertMemo({ config: plan.summary, runDir: plan.runDir, backend: plan.backend });
  }

  progress.phase = 'preparing-data';
  const dataset = state?.dataset ?? (await cpu.prepareData({ runDir: plan.runDir }));

  let best: EvalSummary | null = state?.best ?? null;
  let lastEval: EvalSummary | null = state?.lastEval ?? null;
  let lastEpoch: EpochSummary | null = state?.lastEpoch ?? null;
  const epochSeconds = [...(state?.epochSeconds ?? [])];
  const firstEpoch = state?.nextEpoch ?? 1;
  let stoppedEarly = false;

  const evaluate = async (epoch: number, final: boolean): Promise<void> => {
    progress.phase = 'evaluating';
    lastEval = await accel.evaluate({ runDir: plan.runDir, epoch, cachePath: dataset.cachePath, final });
    if (isBetter(lastEval, best)) {
      best = lastEval;
      progress.bestAccuracy = best.accuracy;
      progress.bestEpoch = best.epoch;
      upsertSearchAttributes([{ key: BEST_ACCURACY_KEY, value: best.accuracy }]);
    }
  };

  try {
    let epoch = firstEpoch;
    while (epoch <= plan.epochs) {
      progress.phase = 'training';
      const last = lastEpochOfGroup({
        epoch,
        totalEpochs: plan.epochs,
        evalEvery: plan.evalEvery,
        stopAfterEpoch: progress.stopAfterEpoch,
        historyLimitEpoch: firstEpoch + EPOCHS_PER_HISTORY - 1,
        epochSeconds,
      });
      // When the activity completes, every epoch it trained has its checkpoint on disk.
      const trained = await accel.trainEpochs({ runDir: plan.runDir, firstEpoch: epoch, lastEpoch: last, cachePath: dataset.cachePath });
      const ranOn = `${trained.backend} on ${trained.device}`;
      if (progress.ranOn !== ranOn) {
        progress.ranOn = ranOn;
        upsertMemo({ ranOn });
      }
      for (const summary of trained.epochs) {
        lastEpoch = summary;
        epochSeconds.push(summary.seconds);
      }
      progress.epoch = last;
      progress.lastLoss = lastEpoch?.meanLoss ?? null;
      progress.lr = lastEpoch?.lr ?? null;
      progress.etaSeconds = estimateEta(epochSeconds, plan.epochs - last);
      upsertSearchAttributes([{ key: EPOCH_KEY, value: last }]);

      // A stop asked for while a group ran takes effect at the group's end (at most ~30 s later).
      const stopping = progress.stopAfterEpoch !== null && last >= progress.stopAfterEpoch;
      const isLast = last === plan.epochs || stopping;
      if (last % plan.evalEvery === 0 || isLast) await evaluate(last, isLast);
      if (stopping) {
        stoppedEarly = last < plan.epochs;
        break;
      }
      if (!isLast && (last - firstEpoch + 1 >= EPOCHS_PER_HISTORY || workflowInfo().continueAsNewSuggested)) {
        // A cancel that came while the group trained, too late for the activity to see it, would not pass to
        // the next run: the training would go on.
        if (CancellationScope.current().consideredCancelled) throw new CancelledFailure('cancelled at the end of an epoch group');
        await continueAsNew<typeof trainFaceNet>({
          ...input,
          continuation: { plan, dataset, nextEpoch: last + 1, best, lastEval, epochSeconds: epochSeconds.slice(-20), lastEpoch, ranOn: progress.ranOn },
        });
      }
      epoch = last + 1;
    }
  } catch (err) {
    if (isCancellation(err)) progress.phase = 'stopping';
    throw err;
  }

  progress.phase = 'reporting';
  const finalEpoch = lastEpoch?.epoch ?? plan.epochs;
  const { reportPath } = await cpu.writeReport({ runDir: plan.runDir });
  const exported = await accel.exportModel({ runDir: plan.runDir, epoch: finalEpoch, cachePath: dataset.cachePath });
  progress.phase = 'done';
  progress.etaSeconds = 0;
  return { runId: plan.runId, runDir: plan.runDir, epochs: finalEpoch, best, final: lastEval, reportPath, modelDir: exported.modelDir, exportedEpoch: exported.epoch, exportedTest: exported.test, stoppedEarly };
}

/** Remaining time from the recent epochs (the first epoch includes warm-up, so it is skipped when there are more). */
function estimateEta(epochSeconds: number[], remainingEpochs: number): number {
  return Math.round((typicalEpochSeconds(epochSeconds) ?? 0) * remainingEpochs);
}
