// Step 3: epochs first..last of a run (counted from 1, as users count them; checkpoint epoch-000k holds
// the state after k epochs), trained in order on the run's session, as one training activity. The last
// epoch's checkpoint is whole on disk before this returns, and the activity's result names it; the epochs
// before it in the same call write none (a checkpoint costs 0.1-0.5 s, a short epoch 1-3 s), so a crash
// redoes the call from the checkpoint before it, deterministically, to the same weights. A retry (after a
// crash or a failed attempt) continues from the newest checkpoint; epochs it already holds return their
// recorded summary.
import { setImmediate } from 'node:timers/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { upsertMetricsRows } from '../run/metrics-log';
import { runPaths } from '../run/run-dir';
import { checkRunBackend } from '../run/run-record';
import { checkpointName, type EpochSummary, type TrainingSession } from '../train';
import type { Sessions } from './sessions';
import type { ProgressFn } from './data';

export interface TrainEpochsOptions {
  onProgress?: ProgressFn;
  /** Aborted when the activity is cancelled: the epoch stops after a checkpoint of the steps done. */
  signal?: AbortSignal;
  /** Whether a cancellation writes that checkpoint (see EpochOptions.checkpointOnCancel); default yes. */
  checkpointOnCancel?: (err: unknown) => boolean;
}

/** The epochs trained (or read back), the checkpoint after the last one, and what they ran on. */
export interface TrainedEpochs {
  epochs: EpochSummary[];
  /** The checkpoint after `lastEpoch` (or a later one that holds it, for epochs read back): on disk. */
  checkpointPath: string;
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
  const paths = runPaths(runDir);
  const { session, config, backend } = await sessions.openSession(runDir, cachePath);
  // A run trains on one backend and thread count (their float rounding differs): another is refused unless allowed.
  checkRunBackend(runDir, { backend: backend.backend, threads: backend.wasmThreads ?? null }, config.resume.allowBackendChange);
  const threads = backend.wasmThreads === undefined ? '' : ` with ${backend.wasmThreads} thread${backend.wasmThreads === 1 ? '' : 's'}`;
  const ranOn = { backend: `${backend.backend}${threads}`, device: backend.device };
  opts.onProgress?.({ phase: 'starting', epoch: firstEpoch, ...range, ...ranOn });
  const epochs: EpochSummary[] = [];
  try {
    for (let epoch = firstEpoch; epoch <= lastEpoch; epoch++) {
      epochs.push(await trainOneEpoch(session, epoch, range, ranOn.device, { ...opts, checkpoint: epoch === lastEpoch }));
    }
  } catch (err) {
    // The in-memory session may now be ahead of the disk (steps after the last checkpoint): the retry starts afresh.
    sessions.close(runDir);
    throw err;
  }
  // The checkpoint after lastEpoch; when every epoch was read back from a later checkpoint (a resumed run),
  // that later one, which holds them.
  let checkpointPath = join(paths.checkpoints, checkpointName(lastEpoch));
  if (!existsSync(checkpointPath)) checkpointPath = join(paths.checkpoints, checkpointName(session.state.epoch, session.state.step));
  if (!existsSync(checkpointPath)) throw new Error(`Internal error: epochs ${firstEpoch}-${lastEpoch} are done, but ${checkpointPath} is not on disk.`);
  // After the checkpoint: a crash in between leaves rows that the retry (reading the epochs back) writes.
  upsertMetricsRows(
    paths.metrics,
    epochs.map((s) => ({ epoch: s.epoch, loss: s.meanLoss, activeFraction: s.meanActiveFraction, lr: s.lr, imagesPerSecond: s.imagesPerSecond, seconds: s.seconds })),
  );
  return { epochs, checkpointPath, ...ranOn };
}

function trainOneEpoch(
  session: TrainingSession,
  epoch: number,
  range: { firstEpoch: number; lastEpoch: number },
  device: string,
  opts: TrainEpochsOptions & { checkpoint: boolean },
): Promise<EpochSummary> {
  const started = Date.now();
  let stepsHere = 0;
  return session.trainEpoch(epoch, {
    checkpoint: opts.checkpoint,
    checkpointOnCancel: opts.checkpointOnCancel,
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
        // Not whole seconds: an att-cpu epoch takes about one, and a rounded 0 made the whole run's ETA 0.
        epochEtaSeconds: round((elapsed / stepsHere) * (p.stepsPerEpoch - p.step)),
      });
      // Training steps run synchronously on the cpu and wasm backends: yield once per step so that
      // heartbeats (and cancellation) get through while an epoch runs.
      await setImmediate();
      if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('cancelled');
    },
  });
}

function round(x: number): number {
  return Math.round(x * 1e5) / 1e5;
}
