// Epoch checkpoints written in the background (deferCheckpoint): the weights are those of a run that
// wrote every checkpoint before going on, a deferred checkpoint lost with its process is made up by
// retraining that epoch (by the next epoch or by the evaluation), and a failed background write is
// reported rather than taken for a saved one.
// The smoke config on the real AT&T images, cpu backend (a tiny model: seconds).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as pipeline from '../../src/pipeline';
import { readMetricsLog } from '../../src/run/metrics-log';
import { readBest, verifyCheckpoint } from '../../src/train';

const ROOT = join(__dirname, '..', '..');
const DATA_PRESENT = existsSync(join(ROOT, '..', 'shared', 'datasets', 'att_faces', 's1'));
const skip = !DATA_PRESENT && 'AT&T data not found in ../shared/datasets';
const runsDir = mkdtempSync(join(tmpdir(), 'facenet-deferred-'));

async function newRun(name: string): Promise<{ runDir: string; cachePath: string }> {
  const overrides = [`runsDir=${runsDir}`, 'backend=cpu', 'training.epochs=3', 'training.stepsPerEpoch=3'];
  const plan = pipeline.resolveRun({ configPath: 'configs/smoke.yml', overrides, runId: name }, ROOT);
  const data = await pipeline.prepareRunData(plan.runDir, ROOT);
  return { runDir: plan.runDir, cachePath: data.cachePath };
}

const checkpoint = (runDir: string, epoch: number) => join(runDir, 'checkpoints', `epoch-${String(epoch).padStart(4, '0')}`);
const weights = (runDir: string, epoch: number) => readFileSync(join(checkpoint(runDir, epoch), 'weights.bin'));

/** A process that dies with checkpoint `epoch` still being written: its session and that checkpoint are gone. */
async function loseWithProcess(run: { runDir: string; cachePath: string }, epoch: number): Promise<void> {
  const { session } = await pipeline.openSession(run.runDir, run.cachePath);
  await session.flushCheckpoint();
  pipeline.closeSession(run.runDir);
  rmSync(checkpoint(run.runDir, epoch), { recursive: true });
}

/**
 * Trains epoch 2 with a deferred checkpoint whose write must fail: after its last step a file takes the
 * checkpoints folder's place. Returns the function that puts the folder back.
 */
async function trainEpoch2WithFailingWrite(run: { runDir: string; cachePath: string }): Promise<() => void> {
  const checkpoints = join(run.runDir, 'checkpoints');
  const aside = `${checkpoints}-aside`;
  await pipeline.trainRunEpoch(run.runDir, 2, run.cachePath, {
    deferCheckpoint: true,
    onProgress: (p) => {
      if (p.step !== undefined && p.step === p.stepsPerEpoch) {
        renameSync(checkpoints, aside);
        writeFileSync(checkpoints, 'not a folder');
      }
    },
  });
  return () => {
    rmSync(checkpoints);
    renameSync(aside, checkpoints);
  };
}

let straight: string;
let straightEval: pipeline.EvalResult;

/** The figures of an evaluation, without the run-specific result path. */
const figures = ({ resultPath: _, ...rest }: pipeline.EvalResult) => rest;

test('setup: a run that writes every checkpoint before going on', { skip }, async () => {
  const run = await newRun('straight');
  for (let epoch = 1; epoch <= 3; epoch++) await pipeline.trainRunEpoch(run.runDir, epoch, run.cachePath);
  straightEval = await pipeline.evaluateRun(run.runDir, 3, run.cachePath);
  pipeline.closeSession(run.runDir);
  straight = run.runDir;
});

test('deferred epoch checkpoints hold the same weights, and the session is reused while one is still being written', { skip }, async () => {
  const run = await newRun('deferred');
  await pipeline.trainRunEpoch(run.runDir, 1, run.cachePath, { deferCheckpoint: true });
  const { session } = await pipeline.openSession(run.runDir, run.cachePath);
  await pipeline.trainRunEpoch(run.runDir, 2, run.cachePath, { deferCheckpoint: true });
  const again = await pipeline.openSession(run.runDir, run.cachePath);
  assert.equal(again.session, session, 'the session was rebuilt from disk instead of continuing in memory');
  await pipeline.trainRunEpoch(run.runDir, 3, run.cachePath);
  assert.equal(session.pendingCheckpoint, null, 'an epoch without deferCheckpoint leaves nothing being written');
  pipeline.closeSession(run.runDir);
  for (const epoch of [1, 2, 3]) {
    assert.equal(await verifyCheckpoint(checkpoint(run.runDir, epoch)), null);
    assert.ok(weights(run.runDir, epoch).equals(weights(straight, epoch)), `epoch ${epoch} weights differ from the straight run`);
  }
});

test('a deferred checkpoint lost with its process: the next epoch retrains it and ends bit-identical', { skip }, async () => {
  const run = await newRun('lost');
  await pipeline.trainRunEpoch(run.runDir, 1, run.cachePath);
  await pipeline.trainRunEpoch(run.runDir, 2, run.cachePath, { deferCheckpoint: true });
  // The process "dies" before the write reached the disk: the session and checkpoint 2 are gone.
  await loseWithProcess(run, 2);
  const third = await pipeline.trainRunEpoch(run.runDir, 3, run.cachePath);
  pipeline.closeSession(run.runDir);
  assert.equal(third.alreadyDone, false);
  assert.ok(weights(run.runDir, 2).equals(weights(straight, 2)), 'the retrained epoch 2 differs');
  assert.ok(weights(run.runDir, 3).equals(weights(straight, 3)), 'epoch 3 differs from the straight run');
  assert.deepEqual(readMetricsLog(join(run.runDir, 'metrics.csv')).map((r) => r.epoch), [1, 2, 3]);
  assert.deepEqual(
    readMetricsLog(join(run.runDir, 'metrics.csv')).map((r) => r.loss),
    readMetricsLog(join(straight, 'metrics.csv')).map((r) => r.loss),
  );
});

test('a failed background write fails the next epoch with its cause, and the retry makes the epoch up from disk', { skip }, async () => {
  const run = await newRun('failed-write');
  await pipeline.trainRunEpoch(run.runDir, 1, run.cachePath);
  const { session } = await pipeline.openSession(run.runDir, run.cachePath);
  const restore = await trainEpoch2WithFailingWrite(run);
  await assert.rejects(session.flushCheckpoint(), /Writing checkpoint epoch-0002 in the background failed/);
  restore();
  assert.equal(await verifyCheckpoint(checkpoint(run.runDir, 1)), null);
  assert.equal(existsSync(checkpoint(run.runDir, 2)), false);
  // The session's state is ahead of the disk; the next epoch must not build on it as if epoch 2 were saved.
  pipeline.closeSession(run.runDir);
  const third = await pipeline.trainRunEpoch(run.runDir, 3, run.cachePath);
  pipeline.closeSession(run.runDir);
  assert.equal(third.epoch, 3);
  assert.ok(weights(run.runDir, 2).equals(weights(straight, 2)));
  assert.ok(weights(run.runDir, 3).equals(weights(straight, 3)));
});

test('a background write that failed before the next epoch starts fails that epoch at once, naming it', { skip }, async () => {
  const run = await newRun('failed-early');
  await pipeline.trainRunEpoch(run.runDir, 1, run.cachePath);
  const restore = await trainEpoch2WithFailingWrite(run);
  // Let the failing write settle, then put the folder back so that only the lost write is wrong.
  await new Promise((resolve) => setTimeout(resolve, 200));
  restore();
  let steps = 0;
  await assert.rejects(
    pipeline.trainRunEpoch(run.runDir, 3, run.cachePath, { onProgress: (p) => void (p.step !== undefined && steps++) }),
    /Writing checkpoint epoch-0002 in the background failed/,
  );
  assert.equal(steps, 0, 'epoch 3 trained on although epoch 2 was never saved');
  // The retry (a new activity attempt) makes epoch 2 up from checkpoint 1.
  await pipeline.trainRunEpoch(run.runDir, 3, run.cachePath);
  pipeline.closeSession(run.runDir);
  assert.ok(weights(run.runDir, 3).equals(weights(straight, 3)));
});

test('an evaluation right after a deferred checkpoint embeds while it is written, and waits for it before recording', { skip }, async () => {
  const run = await newRun('eval-deferred');
  await pipeline.trainRunEpochs(run.runDir, 1, 3, run.cachePath, { deferLastCheckpoint: true });
  const { session } = await pipeline.openSession(run.runDir, run.cachePath);
  assert.equal(session.pendingCheckpoint, 'epoch-0003');
  let pendingWhileEmbedding: string | null = null;
  const ev = await pipeline.evaluateRun(run.runDir, 3, run.cachePath, {
    onProgress: (p) => void (p['phase'] === 'embedding' && (pendingWhileEmbedding = session.pendingCheckpoint)),
  });
  assert.equal(pendingWhileEmbedding, 'epoch-0003', 'the evaluation waited for the write before embedding, so nothing overlapped');
  assert.equal(session.pendingCheckpoint, null, 'the evaluation returned without waiting for the checkpoint it names');
  pipeline.closeSession(run.runDir);
  assert.equal(await verifyCheckpoint(checkpoint(run.runDir, 3)), null);
  assert.ok(weights(run.runDir, 3).equals(weights(straight, 3)));
  assert.deepEqual(figures(ev), figures(straightEval));
  assert.equal((await readBest(join(run.runDir, 'checkpoints')))?.checkpoint, 'epoch-0003');
});

test('an evaluation after a deferred checkpoint lost with its process retrains that epoch and scores the same weights', { skip }, async () => {
  const run = await newRun('eval-lost');
  await pipeline.trainRunEpochs(run.runDir, 1, 3, run.cachePath, { deferLastCheckpoint: true });
  // The worker "dies" after the training activity completed but before checkpoint 3 reached the disk.
  await loseWithProcess(run, 3);
  const ev = await pipeline.evaluateRun(run.runDir, 3, run.cachePath);
  pipeline.closeSession(run.runDir);
  assert.equal(await verifyCheckpoint(checkpoint(run.runDir, 3)), null);
  assert.ok(weights(run.runDir, 3).equals(weights(straight, 3)), 'the retrained epoch 3 differs');
  assert.deepEqual(figures(ev), figures(straightEval));
  const log = readMetricsLog(join(run.runDir, 'metrics.csv'));
  assert.deepEqual(log.map((r) => r.epoch), [1, 2, 3]);
  assert.deepEqual(log.map((r) => r.loss), readMetricsLog(join(straight, 'metrics.csv')).map((r) => r.loss));
});

test('an evaluation of an epoch that was never trained is refused, not trained', { skip }, async () => {
  const run = await newRun('eval-untrained');
  await pipeline.trainRunEpochs(run.runDir, 1, 2, run.cachePath);
  await assert.rejects(
    pipeline.evaluateRun(run.runDir, 3, run.cachePath),
    /Evaluation of epoch 3 needs checkpoint epoch-0003, but the run's latest valid checkpoint is epoch-0002 and the metrics log does not show epoch 3 as trained: train it first\./,
  );
  pipeline.closeSession(run.runDir);
  assert.equal(existsSync(checkpoint(run.runDir, 3)), false);
});

test('cleanup', () => {
  rmSync(runsDir, { recursive: true, force: true });
});
