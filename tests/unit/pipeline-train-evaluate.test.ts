// The training/evaluation seam on the real AT&T images with the smoke config (cpu backend, a tiny model):
// every checkpoint a training call names is whole on disk when it returns; a retry after a failure
// continues from the newest checkpoint to the weights of an uninterrupted run; evaluation reads the
// epoch's checkpoint into an inference model (the session's own model gives the same figures) and never
// trains: a missing or damaged checkpoint is a CheckpointError naming the path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as pipeline from '../../src/pipeline';
import { readMetricsLog } from '../../src/run/metrics-log';
import { readBest, verifyCheckpoint, CheckpointError } from '../../src/train';
import { distancesForPairs, evaluateVerification } from '../../src/eval';
import { BadInputError } from '../../src/errors';

const ROOT = join(__dirname, '..', '..');
const DATA_PRESENT = existsSync(join(ROOT, '..', 'shared', 'datasets', 'att_faces', 's1'));
const skip = !DATA_PRESENT && 'AT&T data not found in ../shared/datasets';
const runsDir = mkdtempSync(join(tmpdir(), 'facenet-seam-'));
const sessions = new pipeline.Sessions(new pipeline.WorkerBackend({ FACENET_BACKEND: 'cpu' }));

async function newRun(name: string, extra: string[] = []): Promise<{ runDir: string; cachePath: string }> {
  const overrides = [`runsDir=${runsDir}`, 'backend=cpu', 'training.epochs=3', 'training.stepsPerEpoch=3', ...extra];
  const plan = pipeline.resolveRun({ configPath: 'configs/smoke.yml', overrides, runId: name }, ROOT);
  const data = await pipeline.prepareRunData(plan.runDir, ROOT);
  return { runDir: plan.runDir, cachePath: data.cachePath };
}

const checkpoint = (runDir: string, epoch: number) => join(runDir, 'checkpoints', `epoch-${String(epoch).padStart(4, '0')}`);
const weights = (runDir: string, epoch: number) => readFileSync(join(checkpoint(runDir, epoch), 'weights.bin'));
/** The figures of an evaluation, without the run-specific result path. */
const figures = ({ resultPath: _, ...rest }: pipeline.EvalResult) => rest;

let straight: { runDir: string; cachePath: string };
let straightEval: pipeline.EvalResult;

test('the checkpoint a training call names is whole on disk when it returns; the epochs before it write none', { skip }, async () => {
  straight = await newRun('straight');
  const first = await pipeline.trainRunEpochs(sessions, straight.runDir, { firstEpoch: 1, lastEpoch: 2 }, straight.cachePath);
  const second = await pipeline.trainRunEpochs(sessions, straight.runDir, { firstEpoch: 3, lastEpoch: 3 }, straight.cachePath);
  const summaries = [...first.epochs, ...second.epochs];
  assert.deepEqual({ backend: first.backend, device: first.device }, { backend: 'cpu', device: 'CPU' });
  assert.deepEqual(summaries.map((s) => s.epoch), [1, 2, 3]);
  for (const [call, epoch] of [[first, 2], [second, 3]] as const) {
    assert.equal(call.checkpointPath, checkpoint(straight.runDir, epoch));
    assert.equal(await verifyCheckpoint(call.checkpointPath), null, `${call.checkpointPath} is not whole`);
  }
  assert.equal(existsSync(checkpoint(straight.runDir, 1)), false, 'epoch 1 is followed by epoch 2 in the same call');
  assert.deepEqual(readMetricsLog(join(straight.runDir, 'metrics.csv')).map((r) => r.loss), summaries.map((s) => s.meanLoss));
  assert.deepEqual(readdirSync(join(straight.runDir, 'checkpoints')).filter((n) => n.startsWith('.tmp')), []);
});

test('evaluation reads the checkpoint: the figures of the session model embedded by hand', { skip }, async () => {
  straightEval = await pipeline.evaluateRun(sessions, straight.runDir, 3, straight.cachePath);
  assert.equal((await readBest(join(straight.runDir, 'checkpoints')))?.checkpoint, 'epoch-0003');
  // Brute force: the training session's own model (at epoch 3), embedded and scored here.
  const { session, config } = await sessions.openSession(straight.runDir, straight.cachePath);
  assert.equal(session.state.epoch, 3);
  const data = session.data!;
  const emb = await pipeline.embedImages(session.model, data.dataset, data.split.testIndices, config, data.normalization);
  const row = new Map(data.split.testIndices.map((d, i) => [d, i]));
  const pairs = data.split.testPairs.map((p) => ({ a: row.get(p.a)!, b: row.get(p.b)! }));
  const d = distancesForPairs(emb, config.model.embeddingDim, pairs, config.loss.distance);
  const v = evaluateVerification(d, data.split.testPairs.map((p) => p.same), { criterion: config.evaluation.threshold, farTargets: config.evaluation.farTargets });
  assert.equal(straightEval.accuracy, v.accuracy);
  assert.equal(straightEval.auc, v.auc);
  assert.equal(straightEval.threshold, v.threshold);
  sessions.close(straight.runDir);
});

test('a retry after a failed attempt continues from the newest checkpoint to the same weights', { skip }, async () => {
  const run = await newRun('retried');
  await pipeline.trainRunEpochs(sessions, run.runDir, { firstEpoch: 1, lastEpoch: 1 }, run.cachePath);
  // The attempt for epochs 2-3 fails in epoch 3 after its first step (epoch 2 is trained, but its checkpoint is not written).
  const failing = pipeline.trainRunEpochs(sessions, run.runDir, { firstEpoch: 2, lastEpoch: 3 }, run.cachePath, {
    onProgress: (p) => {
      if (p['epoch'] === 3 && p['step'] === 1) throw new Error('worker lost');
    },
  });
  await assert.rejects(failing, /worker lost/);
  // The retry of the same activity starts again from epoch 1's checkpoint.
  const retried = (await pipeline.trainRunEpochs(sessions, run.runDir, { firstEpoch: 2, lastEpoch: 3 }, run.cachePath)).epochs;
  assert.deepEqual(retried.map((s) => s.epoch), [2, 3]);
  const losses = (rows: Array<{ meanLoss: number; lr: number }>) => rows.map((r) => [r.meanLoss, r.lr]);
  const straightLog = readMetricsLog(join(straight.runDir, 'metrics.csv'));
  assert.deepEqual(losses(retried), straightLog.slice(1).map((r) => [r.loss, r.lr]));
  assert.ok(weights(run.runDir, 3).equals(weights(straight.runDir, 3)), "epoch 3's weights differ");
  const ev = await pipeline.evaluateRun(sessions, run.runDir, 3, run.cachePath);
  assert.deepEqual(figures(ev), figures(straightEval));
  sessions.close(run.runDir);
});

test('the training heartbeat estimates the rest of the epoch in fractions of a second, never a rounded 0', { skip }, async () => {
  const run = await newRun('heartbeat');
  const beats: Array<Record<string, unknown>> = [];
  await pipeline.trainRunEpochs(sessions, run.runDir, { firstEpoch: 1, lastEpoch: 1 }, run.cachePath, { onProgress: (p) => void beats.push(p) });
  const steps = beats.filter((b) => typeof b['step'] === 'number');
  assert.ok(steps.length > 1, 'no step heartbeats');
  for (const b of steps) {
    const left = (b['stepsPerEpoch'] as number) - (b['step'] as number);
    const eta = b['epochEtaSeconds'] as number;
    // Whole seconds made a 1-s att-cpu epoch's ETA 0 at every step, and the progress line's whole-run ETA with it.
    assert.ok(left > 0 ? eta > 0 && !Number.isInteger(eta) : eta === 0, `step ${String(b['step'])}: ${eta} s for ${left} steps left`);
  }
  sessions.close(run.runDir);
});

test('an evaluation never trains: a missing or damaged checkpoint is a CheckpointError naming it', { skip }, async () => {
  const run = await newRun('eval-missing');
  await pipeline.trainRunEpochs(sessions, run.runDir, { firstEpoch: 1, lastEpoch: 2 }, run.cachePath);
  const isCheckpointError = (path: string, what: RegExp) => (err: unknown) =>
    err instanceof CheckpointError && err.path === path && what.test(err.message) && err.message.includes(path);
  await assert.rejects(pipeline.evaluateRun(sessions, run.runDir, 3, run.cachePath), isCheckpointError(checkpoint(run.runDir, 3), /does not exist/));
  assert.equal(existsSync(checkpoint(run.runDir, 3)), false, 'the evaluation trained epoch 3');
  writeFileSync(join(checkpoint(run.runDir, 2), 'weights.bin'), 'flipped');
  await assert.rejects(pipeline.evaluateRun(sessions, run.runDir, 2, run.cachePath), isCheckpointError(checkpoint(run.runDir, 2), /is damaged: weights\.bin has 7 bytes/));
  sessions.close(run.runDir);
});

test('a validation set: held-out training identities score every evaluation and pick the exported checkpoint and threshold', { skip }, async () => {
  // evaluation.threshold accuracy (as lfw-cpu.yml's) for the test pairs; the validation pairs' is Youden's all the same.
  const run = await newRun('validated', ['dataset.validationIdentities=3', 'export.checkpoint=best-validation', 'evaluation.threshold=accuracy', 'training.seed=1']);
  const { session } = await sessions.openSession(run.runDir, run.cachePath);
  const split = session.data!.split;
  const { dataset } = session.data!;
  const people = (indices: number[]) => new Set(indices.map((i) => dataset.identities[dataset.labels[i]!]));
  assert.equal(people(split.validationIndices).size, 3);
  assert.equal(split.validationIndices.length, 30, 'AT&T: ten images of each validation subject');
  assert.equal(split.validationPairs.length, (30 * 29) / 2);
  assert.deepEqual([...people(split.validationIndices)].filter((p) => people(split.trainIndices).has(p) || people(split.testIndices).has(p)), []);
  // The test pairs are those of the run without a validation set.
  const plain = (await sessions.openSession(straight.runDir, straight.cachePath)).session.data!.split;
  assert.deepEqual(split.testPairs, plain.testPairs);
  assert.equal(split.trainIndices.length, plain.trainIndices.length - 30);

  const evals = [];
  for (let epoch = 1; epoch <= 3; epoch++) {
    await pipeline.trainRunEpochs(sessions, run.runDir, { firstEpoch: epoch, lastEpoch: epoch }, run.cachePath);
    evals.push(await pipeline.evaluateRun(sessions, run.runDir, epoch, run.cachePath));
  }
  const scores = evals.map((e) => e.validationBalancedAccuracy!);
  const bestEpoch = scores.indexOf(Math.max(...scores)) + 1;
  const exported = await pipeline.exportRunModel(sessions, run.runDir, 3, run.cachePath);
  assert.equal(exported.epoch, bestEpoch, `validation accuracies ${scores.join(', ')}`);
  const sidecar = JSON.parse(readFileSync(join(exported.modelDir, 'facenet.json'), 'utf8'));
  const file = JSON.parse(readFileSync(evals[bestEpoch - 1]!.resultPath, 'utf8')) as pipeline.EvalFile;
  assert.equal(sidecar.epoch, bestEpoch);
  assert.equal(sidecar.threshold, file.validation!.threshold);
  assert.equal(file.verification.criterion, 'accuracy');
  assert.equal(file.validation!.criterion, 'youden');
  assert.equal(file.validation!.threshold, file.validation!.youdenThreshold);
  assert.equal(sidecar.thresholdFrom, 'validation pairs');
  // Picked by balanced accuracy at the validation threshold, not by plain accuracy (mostly different-person pairs).
  assert.equal(sidecar.metrics.validationBalancedAccuracy, scores[bestEpoch - 1]);
  assert.equal(scores[bestEpoch - 1], (file.validation!.tar + 1 - file.validation!.far) / 2);
  assert.equal(sidecar.metrics.validationAccuracy, file.validation!.accuracy);
  // What a retrain compares and a champion records: the exported checkpoint's figures, not the last evaluation's.
  assert.notEqual(bestEpoch, 3, 'the test needs a best-validation epoch before the last');
  assert.deepEqual(exported.test, { accuracy: evals[bestEpoch - 1]!.accuracy, auc: evals[bestEpoch - 1]!.auc });
  const champion = await pipeline.promoteChampion(join(runsDir, 'champion'), run.runDir, 'manifest', ROOT);
  assert.deepEqual({ accuracy: champion.accuracy, auc: champion.auc }, exported.test);
  assert.notEqual(champion.accuracy, evals[2]!.accuracy);
  // A model folder without its sidecar, and a folder that is not a run: bad input naming the file; the champion stays.
  const copy = join(runsDir, 'validated-copy');
  cpSync(run.runDir, copy, { recursive: true });
  rmSync(join(copy, 'model', 'facenet.json'));
  await assert.rejects(pipeline.promoteChampion(join(runsDir, 'champion'), copy, 'manifest', ROOT), (err: Error) => {
    assert.ok(err instanceof BadInputError, String(err));
    assert.match(err.message, /validated-copy\/model\/facenet\.json is missing/);
    return true;
  });
  await assert.rejects(pipeline.promoteChampion(join(runsDir, 'champion'), join(copy, 'model'), 'manifest', ROOT), BadInputError);
  assert.equal(pipeline.readChampion(join(runsDir, 'champion'), ROOT)!.runDir, champion.runDir);
  sessions.close(run.runDir);
});

test('cleanup', () => {
  rmSync(runsDir, { recursive: true, force: true });
});
