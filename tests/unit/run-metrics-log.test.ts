import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readMetricsLog, upsertMetricsRows } from '../../src/run/metrics-log';

const train = (epoch: number) => ({ epoch, loss: 1 / epoch, activeFraction: 0.5, lr: 0.001, imagesPerSecond: 40, seconds: 2.5 });

test('an epoch logged twice (a retried activity) keeps one row, and evaluation fields merge into it', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'metrics-')), 'metrics.csv');
  upsertMetricsRows(file, [train(1)]);
  upsertMetricsRows(file, [train(3), train(2)]);
  upsertMetricsRows(file, [train(2)]);
  upsertMetricsRows(file, [{ epoch: 2, accuracy: 0.9, auc: 0.95, eer: 0.1, threshold: 0.7 }]);
  const rows = readMetricsLog(file);
  assert.deepEqual(rows.map((r) => r.epoch), [1, 2, 3]);
  assert.deepEqual(rows[0], { ...train(1), accuracy: null, auc: null, eer: null, threshold: null });
  assert.deepEqual(rows[1], { ...train(2), accuracy: 0.9, auc: 0.95, eer: 0.1, threshold: 0.7 });
  assert.equal(rows[2]?.threshold, null);
  assert.equal(readFileSync(file, 'utf8').split('\n')[1], '1,1,0.5,0.001,40,2.5,,,,');
});

test('a damaged log is refused with what to do', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'metrics-')), 'metrics.csv');
  writeFileSync(file, 'epoch,loss\n1,"unclosed\n');
  assert.throws(() => readMetricsLog(file), /is not a valid metrics log .*Delete it/);
});
