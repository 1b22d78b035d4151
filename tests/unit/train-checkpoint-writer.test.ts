// The checkpoint writer thread: a checkpoint written there is complete and verifiable, older ones are
// pruned, the arrays are moved to the thread (not copied), and a write error comes back as a rejection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeCheckpointOffThread } from '../../src/train/checkpoint-writer';
import { readCheckpoint, verifyCheckpoint, type CheckpointContents, type TrainingState } from '../../src/train/checkpoint';

function contents(epoch: number): CheckpointContents {
  const w = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i + epoch));
  const m = Float32Array.from({ length: 1000 }, (_, i) => i / 1000);
  return {
    weights: [{ name: 'conv/kernel', shape: [10, 100], dtype: 'float32', values: w }],
    optimizer: { name: 'adam', step: epoch * 5, slots: [{ name: 'm/0/conv/kernel', shape: [10, 100], values: m }] },
    state: { epoch, step: 0, globalStep: epoch * 5 } as TrainingState,
  };
}

test('a checkpoint written on the thread is complete, its arrays were moved there, and older ones are pruned', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'facenet-writer-'));
  try {
    for (let epoch = 1; epoch <= 3; epoch++) {
      const c = contents(epoch);
      const expected = Float32Array.from(c.weights[0]!.values);
      const written = await writeCheckpointOffThread(dir, c, 2, []);
      assert.equal(c.weights[0]!.values.length, 0, 'the weights were copied, not transferred to the thread');
      assert.equal(await verifyCheckpoint(written), null);
      const back = await readCheckpoint(written);
      assert.deepEqual(back.weights[0]!.values, expected);
      assert.equal(back.optimizer.step, epoch * 5);
      assert.equal(back.state.globalStep, epoch * 5);
    }
    assert.deepEqual(readdirSync(dir).sort(), ['epoch-0002', 'epoch-0003']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a write that fails on the thread rejects with the cause, and the thread goes on serving', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'facenet-writer-'));
  try {
    const notADir = join(dir, 'file');
    writeFileSync(notADir, 'x');
    await assert.rejects(writeCheckpointOffThread(notADir, contents(1), 2, []), /EEXIST|ENOTDIR/);
    const written = await writeCheckpointOffThread(dir, contents(2), 2, []);
    assert.equal(await verifyCheckpoint(written), null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
