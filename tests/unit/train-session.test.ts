// The training session and loop: leak guard, non-finite loss, periodic checkpoints with pruning that
// keeps the best, epoch ordering, initialisation from an exported model, and a real AT&T cache.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { runConfigSchema, type RunConfig, type RunConfigInput } from '../../src/config/schema';
import { createTrainingSession, type SessionOptions } from '../../src/train/session';
import { syntheticBatchSource } from '../../src/train/synthetic';
import { listCheckpoints } from '../../src/train/checkpoint';
import { defaultEmbed } from '../../src/train/step';
import { exportModel } from '../../src/train/export';
import { prepareDataset } from '../../src/data';
import { loadCheckpointModel } from '../../src/train/restore';
import { recordBest } from '../../src/train/best';
import { tripletLoss } from '../../src/loss';

const INPUT: [number, number, number] = [8, 8, 1];
const ROOT = path.resolve(__dirname, '..', '..');

function config(training: Partial<RunConfigInput['training']> = {}, extra: Partial<RunConfigInput> = {}): RunConfig {
  return runConfigSchema.parse({
    name: 'session-test',
    dataset: { name: 'att', split: { kind: 'att-subjects' } },
    preprocess: { channels: 1 },
    model: { widths: [2, 2, 2, 2], stem: 'light', embeddingDim: 4 },
    loss: { miner: 'batch-hard', margin: 0.5 },
    optimizer: { name: 'adam', learningRate: 0.01 },
    ...extra,
    training: { epochs: 3, seed: 5, ...training },
  });
}

function opts(runDir: string, cfg: RunConfig, steps = 2): SessionOptions {
  const source = syntheticBatchSource({ seed: 5, identities: 4, identitiesPerBatch: 2, imagesPerIdentity: 2, stepsPerEpoch: steps, inputShape: INPUT });
  return { config: cfg, runDir, source, inputShape: INPUT };
}

const tmpRun = () => fs.mkdtemp(path.join(os.tmpdir(), 'facenet-session-'));
const weightBytes = (m: { getWeights(): tf.Tensor[] }) => Buffer.concat(m.getWeights().map((t) => Buffer.from((t.dataSync() as Float32Array).buffer)));

test('setup cpu backend', async () => {
  await tf.setBackend('cpu');
});

test('the leak guard throws "Leaked N tensors at step S"', async () => {
  const run = await tmpRun();
  let leaked: tf.Tensor | undefined;
  const s = await createTrainingSession({
    ...opts(run, config()),
    embed: (m, x, t) => {
      leaked = tf.keep(tf.zeros([1]));
      return defaultEmbed(m, x, t);
    },
  });
  await assert.rejects(s.trainEpoch(1), /^TensorLeakError: Leaked 1 tensors at step 1\.$/);
  leaked?.dispose();
  s.dispose();
  assert.deepEqual(await listCheckpoints(path.join(run, 'checkpoints')), []);
  await fs.rm(run, { recursive: true });
});

test('a NaN loss names the epoch and step', async () => {
  const run = await tmpRun();
  let calls = 0;
  const s = await createTrainingSession({
    ...opts(run, config()),
    lossFn: (e, l) => {
      const r = tripletLoss(e, l, { miner: 'batch-all', margin: 0.2, distance: 'euclidean' });
      if (++calls < 4) return r;
      return { loss: tf.div(r.loss, tf.scalar(0)) as tf.Scalar, activeFraction: r.activeFraction };
    },
  });
  await s.trainEpoch(1);
  await assert.rejects(s.trainEpoch(2), /The loss became (NaN|Infinity) at epoch 2, step 2; no checkpoint was written/);
  s.dispose();
  assert.deepEqual(await listCheckpoints(path.join(run, 'checkpoints')), ['epoch-0001']);
  await fs.rm(run, { recursive: true });
});

test('periodic checkpoints are pruned to the last K, keeping the best; the best survives a restart', async () => {
  const run = await tmpRun();
  const cfg = config({ checkpointEverySteps: 2, keepLastCheckpoints: 2 });
  const s = await createTrainingSession(opts(run, cfg, 4));
  const dir = path.join(run, 'checkpoints');
  await s.trainEpoch(1);
  assert.deepEqual(await listCheckpoints(dir), ['epoch-0001', 'epoch-0000-step-000002']);
  assert.notEqual(await recordBest(dir, { metric: 'accuracy', value: 0.8, threshold: 0.9, checkpoint: 'epoch-0001' }), null);
  await s.trainEpoch(2);
  assert.equal(await recordBest(dir, { metric: 'accuracy', value: 0.7, checkpoint: 'epoch-0002' }), null);
  assert.deepEqual(await listCheckpoints(dir), ['epoch-0002', 'epoch-0001-step-000002', 'epoch-0001']);
  // A later evaluation finds epoch-0002 better; the trainer learns it from best.json before its next checkpoint.
  assert.equal(await recordBest(dir, { metric: 'accuracy', value: 0.8, checkpoint: 'epoch-0002' }), null); // equal is not better
  assert.deepEqual(await recordBest(dir, { metric: 'accuracy', value: 0.85, checkpoint: 'epoch-0002', threshold: 1.1 }), {
    metric: 'accuracy', value: 0.85, checkpoint: 'epoch-0002', threshold: 1.1,
  });
  await s.trainEpoch(3);
  assert.deepEqual(await listCheckpoints(dir), ['epoch-0003', 'epoch-0002-step-000002', 'epoch-0002']);
  assert.equal(s.state.globalStep, 12);
  s.dispose();

  const r = await createTrainingSession(opts(run, cfg, 4));
  assert.equal(r.resumedFrom, 'epoch-0003');
  assert.deepEqual(r.state.best, { metric: 'accuracy', value: 0.85, checkpoint: 'epoch-0002', threshold: 1.1 });
  r.dispose();
  await fs.rm(run, { recursive: true });
});

test('a lost attempt (checkpointOnCancel says no) leaves no mid-epoch checkpoint behind', async () => {
  const run = await tmpRun();
  const s = await createTrainingSession(opts(run, config(), 4));
  await s.trainEpoch(1);
  const lost = new Error('activity timed out');
  await assert.rejects(
    s.trainEpoch(2, { onStep: (p) => { if (p.step === 2) throw lost; }, checkpointOnCancel: (err) => err !== lost }),
    /activity timed out/,
  );
  s.dispose();
  assert.deepEqual(await listCheckpoints(path.join(run, 'checkpoints')), ['epoch-0001']);
  await fs.rm(run, { recursive: true });
});

test('the checkpoint a run resumed from is pruned like any other once newer ones exist', async () => {
  const run = await tmpRun();
  const cfg = config({ keepLastCheckpoints: 2, epochs: 4 });
  const s = await createTrainingSession(opts(run, cfg));
  await s.trainEpoch(1);
  s.dispose();
  const r = await createTrainingSession(opts(run, cfg));
  assert.equal(r.resumedFrom, 'epoch-0001');
  for (let e = 2; e <= 4; e++) await r.trainEpoch(e);
  r.dispose();
  assert.deepEqual(await listCheckpoints(path.join(run, 'checkpoints')), ['epoch-0004', 'epoch-0003']);
  await fs.rm(run, { recursive: true });
});

test('epochs run in order; a finished epoch returns its recorded summary', async () => {
  const run = await tmpRun();
  const s = await createTrainingSession(opts(run, config()));
  const first = await s.trainEpoch(1);
  await assert.rejects(s.trainEpoch(3), /Cannot train epoch 3: the latest checkpoint continues with epoch 2; train the epochs in order/);
  s.dispose();
  const r = await createTrainingSession(opts(run, config()));
  assert.deepEqual(await r.trainEpoch(1), first);
  // For evaluation: the checkpoint's model without the optimiser, latest or named.
  const latest = await loadCheckpointModel({ config: config(), inputShape: INPUT, runDir: run });
  assert.equal(path.basename(latest.checkpointPath), 'epoch-0001');
  assert.ok(weightBytes(latest.model).equals(weightBytes(r.model)));
  latest.model.dispose();
  r.dispose();
  await fs.truncate(path.join(run, 'checkpoints', 'epoch-0001', 'state.json'), 3);
  await assert.rejects(
    loadCheckpointModel({ config: config(), inputShape: INPUT, checkpointPath: path.join(run, 'checkpoints', 'epoch-0001') }),
    /Checkpoint .*epoch-0001 is damaged: state.json has 3 bytes, the manifest says \d+/,
  );
  await fs.rm(run, { recursive: true });
});

test('cancelled after the last step of an epoch: the resume just writes the epoch-end checkpoint', async () => {
  const cfg = config({}, { schedule: { kind: 'step', stepEpochs: 1, gamma: 0.5 } });
  const straightRun = await tmpRun();
  const straight = await createTrainingSession(opts(straightRun, cfg));
  const progress: Array<[number, number, number, number]> = [];
  const full = await straight.trainEpoch(1, { onStep: (p) => void progress.push([p.epoch, p.step, p.stepsPerEpoch, p.lr]) });
  await straight.trainEpoch(2, { onStep: (p) => void progress.push([p.epoch, p.step, p.stepsPerEpoch, p.lr]) });
  straight.dispose();
  assert.deepEqual(progress, [[1, 1, 2, 0.01], [1, 2, 2, 0.01], [2, 1, 2, 0.005], [2, 2, 2, 0.005]]);

  const run = await tmpRun();
  const s = await createTrainingSession(opts(run, cfg));
  await assert.rejects(s.trainEpoch(1, { onStep: (p) => { if (p.step === 2) throw new Error('cancel'); } }), /cancel/);
  s.dispose();
  assert.deepEqual(await listCheckpoints(path.join(run, 'checkpoints')), ['epoch-0000-step-000002']);
  const r = await createTrainingSession(opts(run, cfg));
  let steps = 0;
  const summary = await r.trainEpoch(1, { onStep: () => void steps++ });
  r.dispose();
  assert.equal(steps, 0);
  assert.equal(summary.meanLoss, full.meanLoss);
  assert.equal(summary.meanActiveFraction, full.meanActiveFraction);
  assert.deepEqual(await listCheckpoints(path.join(run, 'checkpoints')), ['epoch-0001', 'epoch-0000-step-000002']);
  await Promise.all([straightRun, run].map((d) => fs.rm(d, { recursive: true })));
});

test('model.initFrom starts from the weights of an exported model', async () => {
  const run = await tmpRun();
  const s = await createTrainingSession(opts(run, config()));
  await s.trainEpoch(1);
  const exported = path.join(run, 'export');
  await exportModel(s.model, exported, {
    preprocess: config().preprocess, normalization: { mean: [0.5], std: [0.5] }, model: config().model,
    threshold: null, distance: 'euclidean',
  });
  const trained = weightBytes(s.model);
  s.dispose();

  const run2 = await tmpRun();
  const cfg2 = config({}, { model: { widths: [2, 2, 2, 2], stem: 'light', embeddingDim: 4, initFrom: path.join(exported, 'model.json') } });
  const t = await createTrainingSession(opts(run2, cfg2));
  assert.equal(t.resumedFrom, null);
  assert.ok(weightBytes(t.model).equals(trained));
  t.dispose();
  const cfg3 = config({}, { model: { widths: [4, 2, 2, 2], stem: 'light', embeddingDim: 4, initFrom: exported } });
  const run3 = await tmpRun();
  const tensorsBefore = tf.memory().numTensors;
  await assert.rejects(createTrainingSession(opts(run3, cfg3)), /model.initFrom .*: weight 0 '.*' has shape \[3,3,1,2\] but the model's '.*' has \[3,3,1,4\]/);
  assert.equal(tf.memory().numTensors, tensorsBefore, 'a failed session creation leaks nothing');
  await Promise.all([run, run2, run3].map((d) => fs.rm(d, { recursive: true })));
});

const ATT = path.join(ROOT, '..', 'shared', 'datasets', 'att_faces');

test('a session over a real AT&T cache trains an epoch and resumes deterministically', async (t) => {
  if (!existsSync(ATT)) {
    t.skip(`AT&T faces not found at ${ATT}`);
    return;
  }
  const tmp = await tmpRun();
  const cfg = runConfigSchema.parse({
    name: 'att-tiny',
    dataset: { name: 'att', source: { dir: ATT }, cacheDir: path.join(tmp, 'cache'), maxIdentities: 6, split: { kind: 'att-subjects', folds: 3, fold: 0 } },
    preprocess: { channels: 1, resize: { height: 14, width: 12 }, augment: { horizontalFlip: true, randomCropPad: 1 } },
    model: { widths: [2, 2, 2, 2], stem: 'light', embeddingDim: 4 },
    sampler: { kind: 'pk', identitiesPerBatch: 2, imagesPerIdentity: 3 },
    training: { epochs: 2, seed: 1 },
  });
  const prepared = await prepareDataset(cfg.dataset, cfg.preprocess, { projectRoot: ROOT });
  const s = await createTrainingSession({ config: cfg, runDir: path.join(tmp, 'a'), cachePath: prepared.cachePath });
  assert.deepEqual(s.data?.normalization, { mean: [0.5], std: [0.5] });
  assert.equal(s.source.stepsPerEpoch, 2); // 4 training subjects / P = 2
  const b1 = s.source.batch(0, 1);
  assert.deepEqual(b1.x.shape, [6, 14, 12, 1]);
  const summary = await s.trainEpoch(1);
  await s.trainEpoch(2);
  const straight = weightBytes(s.model);
  s.dispose();
  assert.ok(Number.isFinite(summary.meanLoss) && summary.imagesPerSecond > 0);

  const runB = path.join(tmp, 'b');
  const a = await createTrainingSession({ config: cfg, runDir: runB, cachePath: prepared.cachePath });
  const b2 = a.source.batch(0, 1);
  assert.ok(Buffer.from((b1.x.dataSync() as Float32Array).buffer).equals(Buffer.from((b2.x.dataSync() as Float32Array).buffer)));
  tf.dispose([b1.x, b1.labels, b2.x, b2.labels]);
  await a.trainEpoch(1);
  a.dispose();
  const b = await createTrainingSession({ config: cfg, runDir: runB, cachePath: prepared.cachePath });
  assert.equal(b.resumedFrom, 'epoch-0001');
  await b.trainEpoch(2);
  assert.ok(weightBytes(b.model).equals(straight));
  b.dispose();
  await fs.rm(tmp, { recursive: true });
});
