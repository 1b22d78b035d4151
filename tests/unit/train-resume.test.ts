// Exact resume: 3 epochs in one go == 1 epoch, checkpoint, a NEW process loads it and trains 2 more
// (bit for bit, cpu backend). Also: damaged checkpoints fall back to the previous one, a NaN loss
// throws a clear error and leaves the last good checkpoint intact, and a cancel mid-epoch resumes exactly.
// Run directly with FACENET_RESUME_CHILD=<runDir> this file is the child process of the first test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { runConfigSchema, type RunConfig } from '../../src/config/schema';
import { createTrainingSession, type SessionOptions } from '../../src/train/session';
import { syntheticBatchSource } from '../../src/train/synthetic';
import { loadLatestCheckpoint, readCheckpoint } from '../../src/train/checkpoint';
import { NonFiniteLossError } from '../../src/train/errors';
import { initBackend } from '../../src/backend';
import { registerWasmTrainingKernels } from '../../src/backend/wasm/training-kernels';
import type { BatchSource } from '../../src/train/state';

const INPUT: [number, number, number] = [8, 8, 1];

function config(over: { epochs?: number; keep?: number; optimizer?: 'adam' | 'adamw' } = {}): RunConfig {
  return runConfigSchema.parse({
    name: 'resume-test',
    dataset: { name: 'att', split: { kind: 'att-subjects' } },
    preprocess: { channels: 1 },
    model: { architecture: 'resnet18', widths: [2, 2, 2, 2], stem: 'light', embeddingDim: 4 },
    loss: { miner: 'batch-all', margin: 0.5 },
    optimizer: { name: over.optimizer ?? 'adamw', learningRate: 0.01, weightDecay: 0.01, clipGradNorm: 1 },
    schedule: { kind: 'cosine', minLearningRate: 0.001, warmupEpochs: 1 },
    training: { epochs: over.epochs ?? 3, seed: 42, keepLastCheckpoints: over.keep ?? 5 },
  });
}

const source = (): BatchSource =>
  syntheticBatchSource({ seed: 42, identities: 5, identitiesPerBatch: 3, imagesPerIdentity: 2, stepsPerEpoch: 3, inputShape: INPUT });

// The real model and loss (buildEmbeddingModel, tripletLoss) are the session's defaults.
function deps(runDir: string, cfg = config(), src = source()): SessionOptions {
  return { config: cfg, runDir, source: src, inputShape: INPUT };
}

async function weightBytes(checkpointDir: string): Promise<Buffer> {
  return fs.readFile(path.join(checkpointDir, 'weights.bin'));
}

async function tmpRun(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), 'facenet-resume-'));
}

/** Child process: trains the epochs in FACENET_RESUME_EPOCHS on FACENET_RESUME_BACKEND in a fresh session. */
async function childMain(runDir: string): Promise<void> {
  const backend = process.env.FACENET_RESUME_BACKEND ?? 'cpu';
  if (backend === 'wasm' || backend === 'tensorflow') {
    try {
      await initBackend(backend);
      if (backend === 'wasm') registerWasmTrainingKernels();
    } catch (err) {
      console.error(String(err));
      process.exit(3); // unavailable: the parent skips
    }
  } else {
    await tf.setBackend('cpu');
  }
  // FACENET_RESUME_OPTIMIZER=adam: the native backend's in-place Adam (AdamW keeps the composite everywhere).
  const optimizer = process.env.FACENET_RESUME_OPTIMIZER === 'adam' ? 'adam' : undefined;
  const s = await createTrainingSession(deps(runDir, config({ optimizer })));
  const epochs = (process.env.FACENET_RESUME_EPOCHS ?? '').split(',').filter(Boolean).map(Number);
  for (const e of epochs) await s.trainEpoch(e);
  console.log(JSON.stringify({ resumedFrom: s.resumedFrom, backend: tf.getBackend() }));
  s.dispose();
}

function spawnChild(runDir: string, epochs: number[], backend: 'cpu' | 'wasm' | 'tensorflow', optimizer: 'adam' | 'adamw' = 'adamw') {
  const env: NodeJS.ProcessEnv = { ...process.env, FACENET_RESUME_CHILD: runDir, FACENET_RESUME_EPOCHS: epochs.join(','), FACENET_RESUME_BACKEND: backend, FACENET_RESUME_OPTIMIZER: optimizer };
  delete env['NODE_TEST_CONTEXT'];
  return spawnSync(process.execPath, ['--import', 'tsx', __filename], { env, encoding: 'utf8', timeout: 120_000 });
}

if (process.env.FACENET_RESUME_CHILD) {
  childMain(process.env.FACENET_RESUME_CHILD).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
} else {
  test('setup cpu backend', async () => {
    await tf.setBackend('cpu');
  });

  test('3 epochs in one go == 1 epoch + resume in a new process for 2 more, bit for bit', async () => {
    const straight = await tmpRun();
    const s = await createTrainingSession(deps(straight));
    assert.equal(s.resumedFrom, null);
    const summaries = [];
    for (let e = 1; e <= 3; e++) summaries.push(await s.trainEpoch(e));
    s.dispose();
    assert.deepEqual(summaries.map((x) => x.epoch), [1, 2, 3]);
    assert.ok(summaries.every((x) => Number.isFinite(x.meanLoss) && x.meanActiveFraction >= 0 && x.meanActiveFraction <= 1));
    assert.ok(existsSync(path.join(straight, 'checkpoints', 'epoch-0003')));
    // Warm-up over epoch 0 (3 steps), cosine after: the last step's rate is hand-computable.
    // decay steps = 9 - 3 = 6, last step t = 5/6: 0.001 + 0.009 * (1 + cos(5pi/6)) / 2
    assert.ok(Math.abs(summaries[2]!.lr - (0.001 + (0.009 * (1 + Math.cos((5 * Math.PI) / 6))) / 2)) < 1e-12);

    const resumed = await tmpRun();
    const first = await createTrainingSession(deps(resumed));
    await first.trainEpoch(1);
    first.dispose();
    const child = spawnChild(resumed, [2, 3], 'cpu');
    assert.equal(child.status, 0, `child failed: ${child.stderr}`);
    assert.deepEqual(JSON.parse(child.stdout.trim().split('\n').pop() ?? ''), { resumedFrom: 'epoch-0001', backend: 'cpu' });

    const a = await weightBytes(path.join(straight, 'checkpoints', 'epoch-0003'));
    const b = await weightBytes(path.join(resumed, 'checkpoints', 'epoch-0003'));
    assert.ok(a.equals(b), 'final weights differ between the straight and the resumed run');
    const oa = await readCheckpoint(path.join(straight, 'checkpoints', 'epoch-0003'));
    const ob = await readCheckpoint(path.join(resumed, 'checkpoints', 'epoch-0003'));
    assert.equal(ob.optimizer.step, 9);
    assert.deepEqual(ob.optimizer, oa.optimizer);
    assert.equal(ob.state.globalStep, 9);
    // Sanity: training changed the weights at all.
    const initial = await weightBytes(path.join(resumed, 'checkpoints', 'epoch-0001'));
    assert.ok(!initial.equals(b));
    await Promise.all([straight, resumed].map((d) => fs.rm(d, { recursive: true })));
  });

  test('on wasm too: 3 epochs in one process == 1 epoch + 2 more in another, bit for bit', async (t) => {
    const straight = await tmpRun();
    const one = spawnChild(straight, [1, 2, 3], 'wasm');
    if (one.status === 3) {
      t.skip(`wasm backend unavailable: ${one.stderr.trim().split('\n')[0]}`);
      return;
    }
    assert.equal(one.status, 0, `straight wasm child failed: ${one.stderr}`);
    const resumed = await tmpRun();
    const first = spawnChild(resumed, [1], 'wasm');
    assert.equal(first.status, 0, `first wasm child failed: ${first.stderr}`);
    const rest = spawnChild(resumed, [2, 3], 'wasm');
    assert.equal(rest.status, 0, `resumed wasm child failed: ${rest.stderr}`);
    assert.deepEqual(JSON.parse(rest.stdout.trim().split('\n').pop() ?? ''), { resumedFrom: 'epoch-0001', backend: 'wasm' });
    const a = await weightBytes(path.join(straight, 'checkpoints', 'epoch-0003'));
    const b = await weightBytes(path.join(resumed, 'checkpoints', 'epoch-0003'));
    assert.ok(a.equals(b), 'final weights differ between the straight and the resumed wasm run');
    await Promise.all([straight, resumed].map((d) => fs.rm(d, { recursive: true })));
  });

  // The native backend keeps Adam's weights, m and v in TensorFlow resource variables (src/backend/native/resource-adam.ts):
  // a resumed process loads them from the checkpoint and must continue exactly as the process that never stopped.
  test('on the native tensorflow backend with Adam (in-place, resource variables): 3 epochs in one process == 1 epoch + 2 more in another, bit for bit', async (t) => {
    const straight = await tmpRun();
    const one = spawnChild(straight, [1, 2, 3], 'tensorflow', 'adam');
    if (one.status === 3) {
      t.skip(`tensorflow backend unavailable (scripts/install-tfjs-node-offline.sh builds it): ${one.stderr.trim().split('\n')[0]}`);
      return;
    }
    assert.equal(one.status, 0, `straight tensorflow child failed: ${one.stderr}`);
    const resumed = await tmpRun();
    const first = spawnChild(resumed, [1], 'tensorflow', 'adam');
    assert.equal(first.status, 0, `first tensorflow child failed: ${first.stderr}`);
    const rest = spawnChild(resumed, [2, 3], 'tensorflow', 'adam');
    assert.equal(rest.status, 0, `resumed tensorflow child failed: ${rest.stderr}`);
    assert.deepEqual(JSON.parse(rest.stdout.trim().split('\n').pop() ?? ''), { resumedFrom: 'epoch-0001', backend: 'tensorflow' });
    const a = await weightBytes(path.join(straight, 'checkpoints', 'epoch-0003'));
    const b = await weightBytes(path.join(resumed, 'checkpoints', 'epoch-0003'));
    assert.ok(a.equals(b), 'final weights differ between the straight and the resumed tensorflow run');
    const oa = await readCheckpoint(path.join(straight, 'checkpoints', 'epoch-0003'));
    const ob = await readCheckpoint(path.join(resumed, 'checkpoints', 'epoch-0003'));
    assert.deepEqual(ob.optimizer, oa.optimizer);
    await Promise.all([straight, resumed].map((d) => fs.rm(d, { recursive: true })));
  });

  test('a damaged newest checkpoint is skipped with a warning and the previous one resumed from', async () => {
    const run = await tmpRun();
    const s = await createTrainingSession(deps(run));
    await s.trainEpoch(1);
    await s.trainEpoch(2);
    s.dispose();
    const good = await weightBytes(path.join(run, 'checkpoints', 'epoch-0002'));
    await fs.truncate(path.join(run, 'checkpoints', 'epoch-0002', 'weights.bin'), 100);

    const r = await createTrainingSession(deps(run));
    assert.equal(r.resumedFrom, 'epoch-0001');
    assert.equal(r.warnings.length, 1);
    assert.match(r.warnings[0]!, /epoch-0002 is damaged and was skipped: weights.bin has 100 bytes/);
    await r.trainEpoch(2); // redone deterministically, replacing the damaged one
    r.dispose();
    assert.ok((await weightBytes(path.join(run, 'checkpoints', 'epoch-0002'))).equals(good));
    await fs.rm(run, { recursive: true });
  });

  test('a NaN loss throws NonFiniteLossError naming epoch and step, and the last good checkpoint stays intact', async () => {
    const run = await tmpRun();
    const inner = source();
    const poisoned: BatchSource = {
      stepsPerEpoch: inner.stepsPerEpoch,
      batch(epoch, step) {
        const b = inner.batch(epoch, step);
        if (epoch !== 1 || step !== 0) return b;
        b.x.dispose();
        return { x: tf.fill([b.labels.shape[0], ...INPUT], NaN) as tf.Tensor4D, labels: b.labels };
      },
    };
    const s = await createTrainingSession(deps(run, config(), poisoned));
    await s.trainEpoch(1);
    const before = await weightBytes(path.join(run, 'checkpoints', 'epoch-0001'));
    const tensorsBefore = tf.memory().numTensors;
    await assert.rejects(s.trainEpoch(2), (err: unknown) => {
      assert.ok(err instanceof NonFiniteLossError);
      assert.match(err.message, /The (loss|gradient norm) became NaN at epoch 2, step 1; no checkpoint was written/);
      return true;
    });
    assert.equal(tf.memory().numTensors, tensorsBefore, 'the failed step leaked tensors');
    // The in-memory model was rolled back too (BatchNorm statistics included): it equals the checkpoint.
    const inMemory = s.model.getWeights().map((t) => Buffer.from((t.dataSync() as Float32Array).buffer));
    assert.ok(Buffer.concat(inMemory).equals(before));
    s.dispose();
    const { checkpoint, warnings } = await loadLatestCheckpoint(path.join(run, 'checkpoints'));
    assert.deepEqual(warnings, []);
    assert.equal(checkpoint?.name, 'epoch-0001');
    assert.ok((await weightBytes(path.join(run, 'checkpoints', 'epoch-0001'))).equals(before));
    await fs.rm(run, { recursive: true });
  });

  test('cancelling from onStep saves a mid-epoch checkpoint; resuming it ends bit-identical to no cancel', async () => {
    const straight = await tmpRun();
    const s = await createTrainingSession(deps(straight));
    const seen: number[] = [];
    await s.trainEpoch(1, { onStep: (p) => void seen.push(p.step) });
    assert.deepEqual(seen, [1, 2, 3]);
    const full = await s.trainEpoch(2);
    s.dispose();

    const run = await tmpRun();
    const c = await createTrainingSession(deps(run));
    await c.trainEpoch(1);
    await assert.rejects(
      c.trainEpoch(2, {
        onStep: (p) => {
          if (p.step === 1) throw new Error('cancelled');
        },
      }),
      /cancelled/,
    );
    c.dispose();
    const r = await createTrainingSession(deps(run));
    assert.equal(r.resumedFrom, 'epoch-0001-step-000001');
    const steps: number[] = [];
    const summary = await r.trainEpoch(2, { onStep: (p) => void steps.push(p.step) });
    r.dispose();
    assert.deepEqual(steps, [2, 3]);
    assert.equal(summary.meanLoss, full.meanLoss, 'the epoch mean includes the steps before the cancel');
    assert.ok((await weightBytes(path.join(run, 'checkpoints', 'epoch-0002'))).equals(await weightBytes(path.join(straight, 'checkpoints', 'epoch-0002'))));
    await Promise.all([straight, run].map((d) => fs.rm(d, { recursive: true })));
  });
}
