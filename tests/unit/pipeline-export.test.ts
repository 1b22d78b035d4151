// What the exported model's facenet.json says about itself: which checkpoint it is, and the threshold and
// metrics of that same checkpoint's evaluation (not of another epoch's). The smoke config on the real AT&T
// images, cpu backend (a tiny model: seconds).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as pipeline from '../../src/pipeline';
import type { FaceNetSidecar } from '../../src/train';
import { evaluatePairs, loadFaceModel } from '../../src/infer';

const ROOT = join(__dirname, '..', '..');
const DATA_PRESENT = existsSync(join(ROOT, '..', 'shared', 'datasets', 'att_faces', 's1'));
const skip = !DATA_PRESENT && 'AT&T data not found in ../shared/datasets';
const runsDir = mkdtempSync(join(tmpdir(), 'facenet-export-run-'));
const sessions = new pipeline.Sessions(new pipeline.WorkerBackend({ FACENET_BACKEND: 'cpu' }));

const sidecarOf = (runDir: string) => JSON.parse(readFileSync(join(runDir, 'model', 'facenet.json'), 'utf8')) as FaceNetSidecar;

test('the export records its epoch and checkpoint, and the threshold and metrics of that epoch', { skip }, async () => {
  const overrides = [`runsDir=${runsDir}`, 'backend=cpu', 'training.epochs=3', 'training.stepsPerEpoch=2'];
  const plan = pipeline.resolveRun({ configPath: 'configs/smoke.yml', overrides, runId: 'export-meta' }, ROOT);
  const { cachePath } = await pipeline.prepareRunData(plan.runDir, ROOT);
  await pipeline.trainRunEpochs(sessions, plan.runDir, { firstEpoch: 1, lastEpoch: 2 }, cachePath);
  const ev = await pipeline.evaluateRun(sessions, plan.runDir, 2, cachePath);
  await pipeline.exportRunModel(sessions, plan.runDir, 2, cachePath);
  const s = sidecarOf(plan.runDir);
  assert.equal(s.epoch, 2);
  assert.equal(s.checkpoint, 'epoch-0002');
  assert.equal(s.threshold, ev.threshold);
  assert.deepEqual(s.metrics, { testAccuracy: ev.accuracy, testAuc: ev.auc, testEer: ev.eer, testHeldOutAccuracy: ev.heldOutAccuracy });
  assert.equal(s.thresholdFrom, 'test pairs (in-sample)');
  assert.equal(s.evaluation?.epoch, 2);
  assert.equal(s.evaluation?.file, 'eval/epoch-0002.json');
  assert.equal(s.evaluation?.value, ev.accuracy);
  assert.match(s.evaluation?.protocol ?? '', /AT&T/);
  assert.equal(s.flipTTA, false);
  assert.equal(s.runId, 'export-meta');

  // The exported model on the run's own test pairs, given as a user's CSV of image files: the run's figures.
  const images = Array.from({ length: 20 }, (_, k) => `s${k < 10 ? 7 : 8}/${(k % 10) + 1}.pgm`);
  const rows = images.flatMap((a, i) => images.slice(i + 1).map((b) => `${a},${b},${a.split('/')[0] === b.split('/')[0] ? 1 : 0}`));
  const csv = join(runsDir, 'test-pairs.csv');
  writeFileSync(csv, rows.join('\n'));
  const fm = await loadFaceModel(join(plan.runDir, 'model'));
  try {
    const mine = await evaluatePairs(fm, csv, join(ROOT, '..', 'shared', 'datasets', 'att_faces'), { criterion: 'youden', farTargets: [0.01] });
    assert.equal(mine.verification.pairs, 190);
    assert.equal(mine.verification.auc, ev.auc);
    assert.equal(mine.verification.eer, ev.eer);
    assert.equal(mine.verification.accuracy, ev.accuracy);
    assert.ok(Math.abs(mine.verification.threshold - ev.threshold) < 1e-6, `${mine.verification.threshold} vs ${ev.threshold}`);
    assert.equal(mine.atModelThreshold?.accuracy, ev.accuracy);
  } finally {
    fm.dispose();
  }

  // One more epoch, not evaluated: the export says so instead of borrowing epoch 2's threshold.
  await pipeline.trainRunEpochs(sessions, plan.runDir, { firstEpoch: 3, lastEpoch: 3 }, cachePath);
  await pipeline.exportRunModel(sessions, plan.runDir, 3, cachePath);
  const later = sidecarOf(plan.runDir);
  assert.equal(later.epoch, 3);
  assert.equal(later.checkpoint, 'epoch-0003');
  assert.equal(later.threshold, null);
  assert.equal(later.evaluation, null);
  assert.deepEqual(later.metrics, {});
  sessions.closeAll();
});

test('teardown', () => rmSync(runsDir, { recursive: true, force: true }));
