import { test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { tempName } from '../../src/util/durable-fs';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  checkpointName,
  cleanTempDirs,
  listCheckpoints,
  loadLatestCheckpoint,
  parseCheckpointName,
  pruneCheckpoints,
  verifyCheckpoint,
  writeCheckpoint,
} from '../../src/train/checkpoint';
import type { CheckpointContents, TrainingState } from '../../src/train/state';

async function tmpDir(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), 'facenet-ckpt-'));
}

function contents(epoch: number, step = 0): CheckpointContents {
  const state: TrainingState = {
    epoch, step, globalStep: epoch * 10 + step, stepsPerEpoch: 10, learningRate: 0.001,
    rng: { seed: 7, states: { augment: 12345 } }, sampler: { epoch, step }, best: null,
    metrics: { loss: 0.5 }, config: { name: 'test' }, timing: { savedAt: '', trainSeconds: 1.5 },
  };
  return {
    weights: [
      { name: 'dense/kernel', shape: [2, 3], dtype: 'float32', values: Float32Array.from([1, -2, 3.5, 1e-30, NaN, -0]) },
      { name: 'step', shape: [], dtype: 'int32', values: Int32Array.from([epoch]) },
    ],
    optimizer: { name: 'adam', step: epoch * 10, slots: [{ name: 'm/0/dense/kernel', shape: [2, 3], values: Float32Array.from([0.1, 0.2, 0.3, 0.4, 0.5, epoch]) }] },
    state,
  };
}

test('names encode the position and sort by it', () => {
  assert.equal(checkpointName(3), 'epoch-0003');
  assert.equal(checkpointName(3, 120), 'epoch-0003-step-000120');
  assert.deepEqual(parseCheckpointName('epoch-0003-step-000120'), { epoch: 3, step: 120 });
  assert.equal(parseCheckpointName('.tmp-epoch-0003-ab12'), null);
});

test('write then read returns the same arrays bit for bit, and the state', async () => {
  const dir = await tmpDir();
  const p = await writeCheckpoint(dir, contents(2));
  assert.equal(path.basename(p), 'epoch-0002');
  assert.deepEqual((await fs.readdir(p)).sort(), ['manifest.json', 'optimizer.bin', 'optimizer.json', 'state.json', 'weights.bin', 'weights.json']);
  const { checkpoint, warnings } = await loadLatestCheckpoint(dir);
  assert.deepEqual(warnings, []);
  assert.ok(checkpoint);
  const w = checkpoint.weights[0]!;
  assert.deepEqual(Buffer.from(w.values.buffer), Buffer.from(contents(2).weights[0]!.values.buffer)); // NaN and -0 kept
  assert.deepEqual(Array.from(checkpoint.weights[1]!.values), [2]);
  assert.equal(checkpoint.weights[1]!.dtype, 'int32');
  assert.deepEqual(Array.from(checkpoint.optimizer.slots[0]!.values), Array.from(Float32Array.from([0.1, 0.2, 0.3, 0.4, 0.5, 2])));
  assert.equal(checkpoint.optimizer.step, 20);
  assert.deepEqual(checkpoint.state.rng, { seed: 7, states: { augment: 12345 } });
  await fs.rm(dir, { recursive: true });
});

test('newest first; mid-epoch checkpoints sort between their epochs', async () => {
  const dir = await tmpDir();
  for (const [e, s] of [[1, 0], [2, 0], [1, 5], [10, 0]] as const) await writeCheckpoint(dir, contents(e, s));
  assert.deepEqual(await listCheckpoints(dir), ['epoch-0010', 'epoch-0002', 'epoch-0001-step-000005', 'epoch-0001']);
  await fs.rm(dir, { recursive: true });
});

test('a truncated weights file or a changed byte is detected and the previous checkpoint used', async () => {
  const dir = await tmpDir();
  await writeCheckpoint(dir, contents(1));
  await writeCheckpoint(dir, contents(2));
  await writeCheckpoint(dir, contents(3));
  // epoch-0003: truncated weights; epoch-0002: same size, one byte flipped.
  const w3 = path.join(dir, 'epoch-0003', 'weights.bin');
  await fs.truncate(w3, 10);
  const w2 = path.join(dir, 'epoch-0002', 'weights.bin');
  const bytes = await fs.readFile(w2);
  bytes[0] = (bytes[0] as number) ^ 0xff;
  await fs.writeFile(w2, bytes);
  assert.match((await verifyCheckpoint(path.join(dir, 'epoch-0003'))) ?? '', /weights.bin has 10 bytes, the manifest says 28/);
  const { checkpoint, warnings } = await loadLatestCheckpoint(dir);
  assert.equal(checkpoint?.name, 'epoch-0001');
  assert.equal(warnings.length, 2);
  assert.match(warnings[0]!, /epoch-0003 is damaged and was skipped: weights.bin has 10 bytes/);
  assert.match(warnings[1]!, /epoch-0002 is damaged and was skipped: weights.bin has SHA-256 [0-9a-f]{12}\.\.\., the manifest says/);
  await fs.rm(dir, { recursive: true });
});

test('a checkpoint without manifest (crash before the last write) is skipped; temp dirs are cleaned', async () => {
  const dir = await tmpDir();
  await writeCheckpoint(dir, contents(1));
  await writeCheckpoint(dir, contents(2));
  await fs.rm(path.join(dir, 'epoch-0002', 'manifest.json'));
  // The temp of a writer killed mid-write: its name carries this host and a pid that no longer runs.
  const deadPid = spawnSync(process.execPath, ['-e', '']).pid;
  const leftover = tempName('epoch-0003').replace(`-${process.pid}-`, `-${deadPid}-`);
  await fs.mkdir(path.join(dir, leftover));
  await fs.writeFile(path.join(dir, leftover, 'weights.bin'), 'partial');
  const { checkpoint, warnings } = await loadLatestCheckpoint(dir);
  assert.equal(checkpoint?.name, 'epoch-0001');
  assert.ok(warnings.join('\n').includes(`Removed incomplete checkpoint write ${path.join(dir, leftover)}`), warnings.join('\n'));
  assert.match(warnings.join('\n'), /epoch-0002 is damaged and was skipped: manifest.json is missing/);
  assert.deepEqual(await cleanTempDirs(dir), []);
  assert.deepEqual(await listCheckpoints(dir), ['epoch-0002', 'epoch-0001']);
  await fs.rm(dir, { recursive: true });
});

test('no checkpoints: null without warnings (also for a missing directory)', async () => {
  const dir = await tmpDir();
  assert.deepEqual(await loadLatestCheckpoint(path.join(dir, 'nope')), { checkpoint: null, warnings: [] });
  await fs.rm(dir, { recursive: true });
});

test('rewriting the same position replaces the old checkpoint atomically', async () => {
  const dir = await tmpDir();
  await writeCheckpoint(dir, contents(1));
  const c = contents(1);
  c.state.metrics = { loss: 0.25 };
  await writeCheckpoint(dir, c);
  const { checkpoint } = await loadLatestCheckpoint(dir);
  assert.deepEqual(checkpoint?.state.metrics, { loss: 0.25 });
  assert.deepEqual(await fs.readdir(dir), ['epoch-0001']);
  await fs.rm(dir, { recursive: true });
});

test('pruning keeps the last K plus the protected ones', async () => {
  const dir = await tmpDir();
  for (let e = 1; e <= 6; e++) await writeCheckpoint(dir, contents(e));
  const deleted = await pruneCheckpoints(dir, 2, ['epoch-0002', 'epoch-0004']);
  assert.deepEqual(deleted, ['epoch-0003', 'epoch-0001']);
  assert.deepEqual(await listCheckpoints(dir), ['epoch-0006', 'epoch-0005', 'epoch-0004', 'epoch-0002']);
  await fs.rm(dir, { recursive: true });
});
