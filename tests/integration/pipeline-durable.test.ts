// The real pipeline (smoke config, wasm backend) in worker processes against a real Temporal dev server:
// a worker SIGKILLed mid-epoch, a cancelled run, Ctrl-C in `npm start`, a start from the `temporal` CLI, and a
// progress query.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { findTemporalCli } from '../../temporal/cli-binary';
import type { Progress, TrainInput, TrainResult } from '../../activities/types';
import { readMetricsLog } from '../../src/run/metrics-log';
import { verifyCheckpoint } from '../../src/train';
import * as pipeline from '../../src/pipeline';
import { startTemporal, uniqueQueue, waitForEpoch, type TemporalTestEnv } from '../helpers/temporal';
import { startWorkerProcess, type Queues } from '../helpers/worker-process';

const ROOT = join(__dirname, '..', '..');
const DATA_PRESENT = existsSync(join(ROOT, '..', 'shared', 'datasets', 'att_faces', 's1'));

let env: TemporalTestEnv;
let runsDir: string;
before(async () => {
  env = await startTemporal();
  runsDir = mkdtempSync(join(tmpdir(), 'facenet-durable-'));
});
after(async () => {
  await env?.close();
});

function queues(): Queues {
  return { workflows: uniqueQueue('wf'), cpu: uniqueQueue('cpu'), accel: uniqueQueue('accel') };
}

function smokeInput(q: Queues, extra: string[] = []): TrainInput {
  return {
    configPath: 'configs/smoke.yml',
    // 20 steps make an epoch last a few seconds, long enough to be interrupted in the middle.
    overrides: [`runsDir=${runsDir}`, 'backend=wasm', 'training.epochs=3', 'training.stepsPerEpoch=20', ...extra],
    taskQueues: { cpu: q.cpu, accel: q.accel },
    heartbeatTimeout: '6s',
  };
}

function finalWeightsSha(runDir: string, epoch: number): string {
  const manifest = JSON.parse(readFileSync(join(runDir, 'checkpoints', `epoch-${String(epoch).padStart(4, '0')}`, 'manifest.json'), 'utf8')) as {
    files: Array<{ file: string; sha256: string }>;
  };
  return manifest.files.find((f) => f.file === 'weights.bin')?.sha256 ?? 'missing';
}

test('a worker killed mid-epoch: the run resumes from the last checkpoint, trains each epoch once, and ends with the uninterrupted weights', { skip: !DATA_PRESENT && 'AT&T data not found in ../shared/datasets' }, async () => {
  const q = queues();
  const workflowId = uniqueQueue('kill');
  // Epochs 2 and 3 run in one activity; it must outlast the 1.5 s between seeing epoch 2 and the kill. With the
  // wasm SIMD kernels, 20 smoke steps no longer did.
  const longerEpochs = ['training.stepsPerEpoch=80'];
  let worker = await startWorkerProcess(env.server.address, q);
  try {
    const handle = await env.client.workflow.start('trainFaceNet', { taskQueue: q.workflows, workflowId, args: [smokeInput(q, longerEpochs)] });
    await waitForEpoch(handle, 2, 1500);
    assert.ok(existsSync(join(runsDir, workflowId, 'checkpoints', 'epoch-0001', 'manifest.json')), 'epoch 1 checkpoint before the kill');
    await worker.kill('SIGKILL');
    worker = await startWorkerProcess(env.server.address, q);
    const result = (await handle.result()) as TrainResult;
    assert.equal(result.epochs, 3);
    // The killed worker's epoch was retried on the new worker (a second attempt of the same activity).
    const history = await handle.fetchHistory();
    const retried = (history.events ?? []).filter((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) >= 2);
    assert.equal(retried.length, 1, 'exactly one activity (the interrupted epoch) ran a second attempt');

    const log = readMetricsLog(join(runsDir, workflowId, 'metrics.csv'));
    assert.deepEqual(log.map((r) => r.epoch), [1, 2, 3]);

    // The same run without interruption, in this process, through the same pipeline steps.
    const plan = pipeline.resolveRun({ configPath: 'configs/smoke.yml', overrides: smokeInput(q, longerEpochs).overrides, runId: `${workflowId}-straight` }, ROOT);
    const data = await pipeline.prepareRunData(plan.runDir, ROOT);
    const sessions = new pipeline.Sessions(new pipeline.WorkerBackend({}));
    await pipeline.trainRunEpochs(sessions, plan.runDir, { firstEpoch: 1, lastEpoch: 3 }, data.cachePath);
    sessions.closeAll();
    assert.equal(finalWeightsSha(join(runsDir, workflowId), 3), finalWeightsSha(plan.runDir, 3), 'final weights differ from the uninterrupted run');
    assert.equal(readMetricsLog(join(plan.runDir, 'metrics.csv'))[2]?.loss, log[2]?.loss);
  } finally {
    await worker.kill();
  }
});

test('cancelling a run stops training after saving a valid checkpoint', { skip: !DATA_PRESENT && 'AT&T data not found' }, async () => {
  const q = queues();
  const workflowId = uniqueQueue('cancel');
  const worker = await startWorkerProcess(env.server.address, q);
  try {
    const handle = await env.client.workflow.start('trainFaceNet', {
      taskQueue: q.workflows,
      workflowId,
      // An epoch of 300 steps lasts far longer than a throttled heartbeat takes to deliver the cancellation.
      args: [smokeInput(q, ['training.stepsPerEpoch=300'])],
    });
    await waitForEpoch(handle, 1, 1500);
    await handle.cancel();
    await assert.rejects(handle.result(), (err: unknown) => {
      assert.ok(err instanceof WorkflowFailedError);
      assert.ok(err.cause instanceof CancelledFailure, `cause: ${String(err.cause)}`);
      return true;
    });
    const dir = join(runsDir, workflowId, 'checkpoints');
    const names = readdirSync(dir).filter((n) => n.startsWith('epoch-')).sort();
    const newest = names[names.length - 1] as string;
    assert.match(newest, /^epoch-0000-step-\d{6}$/, `a mid-epoch checkpoint of epoch 1 is the newest: ${names.join(', ')}`);
    assert.equal(await verifyCheckpoint(join(dir, newest)), null);
  } finally {
    await worker.kill();
  }
});

// Ctrl-C in `npm start` (cli.ts run): the CLI runs as a user runs it, in its own process with its in-process
// worker, and gets a real SIGINT in the middle of training.
test('Ctrl-C in `npm start` cancels the run after a valid checkpoint, says how to resume, and exits with 130', { skip: !DATA_PRESENT && 'AT&T data not found in ../shared/datasets' }, async (t) => {
  const runId = uniqueQueue('ctrl-c');
  const args = ['--import', 'tsx', join(ROOT, 'cli.ts'), 'run', '--config', 'configs/smoke.yml', '--run-id', runId,
    // Far more training than the cancellation takes to arrive (it rides on the activity's heartbeats).
    '--set', `runsDir=${runsDir}`, '--set', 'backend=wasm', '--set', 'training.epochs=20', '--set', 'training.stepsPerEpoch=300'];
  const cli = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, TEMPORAL_ADDRESS: env.server.address }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  cli.stdout.on('data', (d: Buffer) => (output += d.toString()));
  cli.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => cli.once('exit', (code) => resolve(code)));
  try {
    const deadline = Date.now() + 60_000;
    while (!output.includes(`Started workflow ${runId}`)) {
      if (Date.now() > deadline || cli.exitCode !== null) throw new Error(`the CLI did not start the workflow:\n${output.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const handle = env.client.workflow.getHandle(runId);
    await waitForEpoch(handle, 1, 1500);
    const interruptedAt = Date.now();
    cli.kill('SIGINT');
    // unref: a pending timer would keep this file's process alive after the test.
    const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 120_000).unref())]);
    assert.equal(code, 130, `exit code; output:\n${output.slice(-2000)}`);
    const resume = `npm start -- --config configs/smoke.yml ${args.slice(args.indexOf('--set')).join(' ')} --run-id ${runId}`;
    assert.ok(output.includes('Cancelling… training stops after a checkpoint'), output.slice(-2000));
    assert.ok(output.includes(`Cancelled; the latest checkpoint is kept. Resume with: ${resume}`), output.slice(-2000));
    assert.equal((await handle.describe()).status.name, 'CANCELLED');
    // The newest checkpoint is whole, and training stopped long before its last epoch (mid-epoch or at an epoch's end,
    // depending on when the heartbeat carried the cancellation in).
    const dir = join(runsDir, runId, 'checkpoints');
    const names = readdirSync(dir).filter((n) => n.startsWith('epoch-')).sort();
    const newest = names[names.length - 1] as string;
    const epochsDone = Number(/^epoch-(\d{4})/.exec(newest)?.[1]);
    assert.ok(epochsDone < 10, `training went on to ${newest} after Ctrl-C: ${names.join(', ')}`);
    assert.equal(await verifyCheckpoint(join(dir, newest)), null);
    // The cancellation rides on the next heartbeat, throttled to one every 2 s (it was 24 s before
    // maxHeartbeatThrottleInterval); the bound is loose for a loaded machine, the point is seconds, not tens.
    const savedAt = Date.parse((JSON.parse(readFileSync(join(dir, newest, 'state.json'), 'utf8')) as { timing: { savedAt: string } }).timing.savedAt);
    t.diagnostic(`checkpoint saved ${((savedAt - interruptedAt) / 1000).toFixed(1)} s after Ctrl-C`);
    assert.ok(savedAt - interruptedAt < 8_000, `the checkpoint after Ctrl-C was saved ${((savedAt - interruptedAt) / 1000).toFixed(1)} s after it`);
  } finally {
    if (cli.exitCode === null && cli.signalCode === null) cli.kill('SIGKILL');
  }
});

test('a run started with `temporal workflow start` completes, and its progress is queryable', { skip: !DATA_PRESENT && 'AT&T data not found' }, async () => {
  const q = queues();
  const workflowId = uniqueQueue('cli');
  const worker = await startWorkerProcess(env.server.address, q);
  try {
    const input = smokeInput(q, ['training.epochs=2', 'evaluation.every=1']);
    execFileSync(findTemporalCli(), [
      'workflow', 'start', '--address', env.server.address, '--type', 'trainFaceNet', '--task-queue', q.workflows,
      '--workflow-id', workflowId, '--input', JSON.stringify(input),
    ]);
    const handle = env.client.workflow.getHandle(workflowId);
    const result = (await handle.result()) as TrainResult;
    const progress = await handle.query<Progress>('progress');
    assert.equal(progress.phase, 'done');
    assert.equal(progress.epoch, 2);
    assert.equal(progress.bestAccuracy, result.best?.accuracy);
    assert.ok(result.final && result.final.accuracy > 0.5 && result.final.accuracy <= 1, `accuracy ${result.final?.accuracy}`);
    assert.ok(existsSync(join(result.runDir, 'report.html')));
    assert.ok(existsSync(join(result.runDir, 'model', 'model.json')));
    assert.deepEqual(readMetricsLog(join(result.runDir, 'metrics.csv')).map((r) => [r.epoch, r.accuracy !== null]), [[1, true], [2, true]]);
  } finally {
    await worker.kill();
  }
});

test('bad input fails fast and is not retried: an invalid config, a missing dataset', async () => {
  const q = queues();
  const worker = await startWorkerProcess(env.server.address, q);
  try {
    const cases: Array<{ overrides: string[]; type: string; message: RegExp }> = [
      { overrides: ['training.epochs=0'], type: 'ConfigError', message: /training\.epochs: Too small.*got 0/ },
      { overrides: ['dataset.source.dir=/nonexistent/att_faces'], type: 'DatasetError', message: /\/nonexistent\/att_faces/ },
    ];
    for (const c of cases) {
      const handle = await env.client.workflow.start('trainFaceNet', {
        taskQueue: q.workflows,
        workflowId: uniqueQueue('bad'),
        args: [{ ...smokeInput(q), overrides: [...(smokeInput(q).overrides ?? []), ...c.overrides] }],
      });
      await assert.rejects(handle.result(), (err: unknown) => {
        assert.ok(err instanceof WorkflowFailedError);
        const failure = (err.cause as { cause?: unknown }).cause;
        assert.ok(failure instanceof ApplicationFailure, String(failure));
        assert.equal(failure.type, c.type);
        assert.equal(failure.nonRetryable, true);
        assert.match(failure.message, c.message);
        return true;
      });
      const history = await handle.fetchHistory();
      const attempts = (history.events ?? []).filter((e) => e.activityTaskStartedEventAttributes).map((e) => e.activityTaskStartedEventAttributes?.attempt);
      assert.deepEqual(attempts.slice(-1), [1], 'the failing activity ran once');
    }
  } finally {
    await worker.kill();
  }
});
