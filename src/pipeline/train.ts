// Step 3: epochs first..last of a run (counted from 1, as users count them; checkpoint epoch-000k holds
// the state after k epochs), trained in order on the run's session. Each epoch's checkpoint is whole on
// disk before the next epoch starts, and so before this returns. A retry (after a crash or a failed
// attempt) continues from the newest checkpoint; epochs it already holds return their recorded summary.
import { upsertMetricsRow } from '../run/metrics-log';
import { runPaths } from '../run/run-dir';
import type { EpochSummary, TrainingSession } from '../train';
import type { Sessions } from './sessions';
import type { ProgressFn } from './data';

export interface TrainEpochsOptions {
  onProgress?: ProgressFn;
  /** Aborted when the activity is cancelled: the epoch stops after a checkpoint of the steps done. */
  signal?: AbortSignal;
}

/** The epochs trained (or read back), and what they ran on. */
export interface TrainedEpochs {
  epochs: EpochSummary[];
  /** The tfjs backend and its thread count, e.g. 'tensorflow' or 'wasm with 2 threads'. */
  backend: string;
  /** 'CPU', or the GPU's name. */
  device: string;
}

export async function trainRunEpochs(
  sessions: Sessions,
  runDir: string,
  range: { firstEpoch: number; lastEpoch: number },
  cachePath: string,
  opts: TrainEpochsOptions = {},
): Promise<TrainedEpochs> {
  const { firstEpoch, lastEpoch } = range;
  if (!Number.isInteger(firstEpoch) || firstEpoch < 1) throw new Error(`Expected a first epoch >= 1, but got ${firstEpoch}.`);
  if (!Number.isInteger(lastEpoch) || lastEpoch < firstEpoch) throw new Error(`Expected a last epoch >= the first (${firstEpoch}), but got ${lastEpoch}.`);
  const metricsPath = runPaths(runDir).metrics;
  const { session, backend } = await sessions.openSession(runDir, cachePath);
  const threads = backend.wasmThreads === undefined ? '' : ` with ${backend.wasmThreads} thread${backend.wasmThreads === 1 ? '' : 's'}`;
  const ranOn = { backend: `${backend.backend}${threads}`, device: backend.device };
  opts.onProgress?.({ phase: 'starting', epoch: firstEpoch, ...range, ...ranOn });
  const results: EpochSummary[] = [];
  try {
    for (let epoch = firstEpoch; epoch <= lastEpoch; epoch++) {
      const summary = await trainOneEpoch(session, epoch, range, ranOn.device, opts);
      // Also for an epoch read back: its row may be what a crash after the checkpoint left unwritten.
      upsertMetricsRow(metricsPath, {
        epoch,
        loss: summary.meanLoss,
        activeFraction: summary.meanActiveFraction,
        lr: summary.lr,
        imagesPerSecond: summary.imagesPerSecond,
        seconds: summary.seconds,
      });
      results.push(summary);
    }
    return { epochs: results, ...ranOn };
  } catch (err) {
    // The in-memory session may now be ahead of the disk (steps after the last checkpoint): the retry starts afresh.
    sessions.close(runDir);
    throw err;
  }
}

function trainOneEpoch(session: TrainingSession, epoch: number, range: { firstEpoch: number; lastEpoch: number }, device: string, opts: TrainEpochsOptions): Promise<EpochSummary> {
  const started = Date.now();
  let stepsHere = 0;
  return session.trainEpoch(epoch, {
    onStep: async (p) => {
      if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('cancelled');
      stepsHere += 1;
      const elapsed = (Date.now() - started) / 1000;
      opts.onProgress?.({
        ...range,
        epoch,
        device,
        step: p.step,
        stepsPerEpoch: p.stepsPerEpoch,
        loss: round(p.loss),
        activeFraction: round(p.activeFraction),
        lr: p.lr,
        imagesPerSecond: round(p.imagesPerSecond),
        epochEtaSeconds: Math.round((elapsed / stepsHere) * (p.stepsPerEpoch - p.step)),
      });
      // Training steps run synchronously on the cpu and wasm backends: yield once per step so that
      // heartbeats (and cancellation) get through while an epoch runs.
      await new Promise((resolve) => setImmediate(resolve));
      if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('cancelled');
    },
  });
}

function round(x: number): number {
  return Math.round(x * 1e5) / 1e5;
}
