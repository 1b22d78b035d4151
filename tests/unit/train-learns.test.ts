// The smoke config learns on a small real subset (10 AT&T subjects): the triplet loss over all valid
// triplets (logged loss x fraction of active triplets, since batch-all averages over the active ones)
// falls over a few epochs, and the held-out pairs separate better than chance.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as pipeline from '../../src/pipeline';

const ROOT = join(__dirname, '..', '..');
const skip = !existsSync(join(ROOT, '..', 'shared', 'datasets', 'att_faces', 's1')) && 'AT&T data not found in ../shared/datasets';

test('the smoke config learns on 10 AT&T subjects', { skip }, async () => {
  const runsDir = mkdtempSync(join(tmpdir(), 'facenet-learns-'));
  const plan = pipeline.resolveRun(
    {
      configPath: 'configs/smoke.yml',
      overrides: [`runsDir=${runsDir}`, 'backend=wasm', 'dataset.maxIdentities=10', 'dataset.split.testSubjects=[s9, s10]', 'training.epochs=8', 'training.stepsPerEpoch=4'],
      runId: 'learns',
    },
    ROOT,
  );
  const data = await pipeline.prepareRunData(plan.runDir, ROOT);
  assert.equal(data.identities, 10);
  const losses: number[] = [];
  const sessions = new pipeline.Sessions(new pipeline.WorkerBackend({}));
  for (const r of (await pipeline.trainRunEpochs(sessions, plan.runDir, { firstEpoch: 1, lastEpoch: 8 }, data.cachePath)).epochs) {
    losses.push(r.meanLoss * r.meanActiveFraction);
  }
  const ev = await pipeline.evaluateRun(sessions, plan.runDir, 8, data.cachePath);
  sessions.closeAll();
  const first = (losses[0]! + losses[1]!) / 2;
  const last = (losses[6]! + losses[7]!) / 2;
  assert.ok(last < 0.6 * first, `loss over all triplets: ${losses.map((l) => l.toFixed(3)).join(' ')}`);
  assert.ok(ev.auc > 0.6, `held-out AUC ${ev.auc}`); // chance is 0.5; this run reaches 0.70
});
