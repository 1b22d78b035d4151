// Step 3, once per epoch: train it from the latest checkpoint (or read it back when it is already done)
// and log it. Epochs are numbered from 1 here, as users count them; checkpoint epoch-000k holds the
// state after k epochs.
import { readMetricsLog, upsertMetricsRow } from '../run/metrics-log';
import { runPaths } from '../run/run-dir';
import { checkpointName, type EpochSummary, type TrainingSession } from '../train';
import { closeSession, openSession } from './sessions';
import type { ProgressFn } from './data';

/** The trainer's epoch summary, with the epoch counted from 1, and whether it was only read back. */
export type EpochResult = EpochSummary & { alreadyDone: boolean };

export interface TrainEpochOptions {
  onProgress?: ProgressFn;
  /** Aborted when the activity is cancelled: the epoch stops after a checkpoint of the steps done. */
  signal?: AbortSignal;
  /**
   * Write the epoch-end checkpoint in the background, overlapping the next epoch (see trainEpoch's
   * deferCheckpoint). Only for an epoch that the same worker follows with another epoch: if the write is
   * lost with the process, the next epoch's activity retrains this one from the previous checkpoint.
   */
  deferCheckpoint?: boolean;
}

/** One epoch: trainRunEpochs with first = last. */
export async function trainRunEpoch(runDir: string, epoch: number, cachePath: string, opts: TrainEpochOptions = {}): Promise<EpochResult> {
  const [result] = await trainRunEpochs(runDir, epoch, epoch, cachePath, { onProgress: opts.onProgress, signal: opts.signal, deferLastCheckpoint: opts.deferCheckpoint });
  return result as EpochResult;
}

export interface TrainEpochsOptions extends Omit<TrainEpochOptions, 'deferCheckpoint'> {
  /** Also write the last epoch's checkpoint in the background (the earlier ones always are: an epoch of this call follows). */
  deferLastCheckpoint?: boolean;
}

/**
 * Epochs first..last in order on one session, each ending with its checkpoint; epochs already done (a retry
 * after a crash) are read back from the metrics log, not retrained.
 */
export async function trainRunEpochs(runDir: string, first: number, last: number, cachePath: string, opts: TrainEpochsOptions = {}): Promise<EpochResult[]> {
  if (!Number.isInteger(first) || first < 1) throw new Error(`Expected an epoch number >= 1, but got ${first}.`);
  if (!Number.isInteger(last) || last < first) throw new Error(`Expected a last epoch >= the first (${first}), but got ${last}.`);
  const paths = runPaths(runDir);
  const { session } = await openSession(runDir, cachePath);
  const results: EpochResult[] = [];
  try {
    for (let epoch = first; epoch <= last; epoch++) {
      const deferCheckpoint = epoch < last || (opts.deferLastCheckpoint ?? false);
      results.push(readBackEpoch(session, paths, epoch) ?? (await trainEpochInOrder(session, paths.metrics, epoch, { ...opts, deferCheckpoint })));
    }
    return results;
  } catch (err) {
    // The in-memory session may now be ahead of (or out of step with) the disk: the retry starts afresh.
    closeSession(runDir);
    throw err;
  }
}

/** The logged summary of an epoch the session is already past, or null. */
function readBackEpoch(session: TrainingSession, paths: ReturnType<typeof runPaths>, epoch: number): EpochResult | null {
  if (session.state.epoch < epoch) return null;
  const logged = readMetricsLog(paths.metrics).find((r) => r.epoch === epoch);
  if (!logged) return null;
  return {
    epoch,
    meanLoss: logged.loss,
    meanActiveFraction: logged.activeFraction,
    lr: logged.lr,
    imagesPerSecond: logged.imagesPerSecond,
    seconds: logged.seconds,
    checkpointPath: `${paths.checkpoints}/${checkpointName(epoch)}`,
    alreadyDone: true,
  };
}

async function trainEpochInOrder(session: TrainingSession, metricsPath: string, epoch: number, opts: TrainEpochOptions): Promise<EpochResult> {
  // The previous epoch's checkpoint was written in the background and lost with its process: that
  // epoch is retrained from the checkpoint before it (deterministically, so to the same weights).
  while (session.state.epoch < epoch - 1) await trainOneEpoch(session, metricsPath, session.state.epoch + 1, { ...opts, deferCheckpoint: false });
  return trainOneEpoch(session, metricsPath, epoch, opts);
}

async function trainOneEpoch(session: TrainingSession, metricsPath: string, epoch: number, opts: TrainEpochOptions): Promise<EpochResult> {
  const started = Date.now();
  const summary = await session.trainEpoch(epoch - 1, {
    deferCheckpoint: opts.deferCheckpoint ?? false,
    onStep: async (p) => {
      if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('cancelled');
      const remainingSteps = p.stepsPerEpoch - p.step - 1;
      const elapsed = (Date.now() - started) / 1000;
      const stepsDone = p.step + 1;
      opts.onProgress?.({
        epoch,
        step: p.step + 1,
        stepsPerEpoch: p.stepsPerEpoch,
        loss: round(p.loss),
        activeFraction: round(p.activeFraction),
        lr: p.lr,
        imagesPerSecond: round(p.imagesPerSecond),
        epochEtaSeconds: Math.round((elapsed / stepsDone) * remainingSteps),
      });
      // Training steps run synchronously on the cpu and wasm backends: yield once per step so that
      // heartbeats (and cancellation) get through while an epoch runs.
      await new Promise((resolve) => setImmediate(resolve));
      if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('cancelled');
    },
  });
  const result: EpochResult = {
    epoch,
    meanLoss: summary.meanLoss,
    meanActiveFraction: summary.meanActiveFraction,
    lr: summary.lr,
    imagesPerSecond: summary.imagesPerSecond,
    seconds: summary.seconds,
    checkpointPath: summary.checkpointPath,
    alreadyDone: false,
  };
  upsertMetricsRow(metricsPath, {
    epoch,
    loss: result.meanLoss,
    activeFraction: result.meanActiveFraction,
    lr: result.lr,
    imagesPerSecond: result.imagesPerSecond,
    seconds: result.seconds,
  });
  return result;
}

function round(x: number): number {
  return Math.round(x * 1e5) / 1e5;
}
