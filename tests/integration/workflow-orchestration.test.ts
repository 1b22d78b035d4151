// trainFaceNet's orchestration against a real Temporal dev server, with fast stand-in activities:
// epochs run once each and in order, evaluation follows evalEvery, bad input is not retried,
// transient failures are, the stop signal ends the run gracefully, progress is queryable and
// runs are findable by search attribute. (The real activities are exercised in pipeline tests.)
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import { Runtime, Worker } from '@temporalio/worker';
import { pipelineLogger } from '../../temporal/logger';
import { createWorkers, runWorkers, ALL_ROLES } from '../../temporal/workers';
import type { createActivities } from '../../activities';
import { withErrorClassification } from '../../activities/classify-errors';
import { ConfigError } from '../../src/config/load';
import type { Progress, RetrainInput, SweepInput, TrainInput, TrainResult } from '../../activities/types';
import { challengerIdFor } from '../../workflows/run-id';
import { startTemporal, uniqueQueue, type TemporalTestEnv } from '../helpers/temporal';

type Activities = ReturnType<typeof createActivities>;
Runtime.install({ logger: pipelineLogger('WARN') });

let env: TemporalTestEnv;
before(async () => {
  env = await startTemporal();
});
after(async () => {
  await env?.close();
});

interface Recorder {
  trained: number[];
  /** [first, last] epoch of each training activity, retries included. */
  groups?: Array<[number, number]>;
  evaluated: number[];
  attempts: Map<number, number>;
  /** The epoch of each exportModel call. */
  exported?: number[];
}

function fakeActivities(rec: Recorder, opts: { epochs: number; evalEvery: number; failOnceAtEpoch?: number; badConfig?: boolean; epochDelayMs?: number; epochSeconds?: number }): Activities {
  const trainEpoch = async ({ epoch }: { epoch: number }) => {
    rec.attempts.set(epoch, (rec.attempts.get(epoch) ?? 0) + 1);
    if (opts.epochDelayMs) await new Promise((r) => setTimeout(r, opts.epochDelayMs));
    if (opts.failOnceAtEpoch === epoch && rec.attempts.get(epoch) === 1) throw new Error('worker lost its disk for a moment');
    rec.trained.push(epoch);
    return { epoch, meanLoss: 1 / epoch, meanActiveFraction: 0.5, lr: 0.001, imagesPerSecond: 100, seconds: opts.epochSeconds ?? 2 };
  };
  const trainEpochDone = async (epoch: number) => ({ epoch, meanLoss: 1 / epoch, meanActiveFraction: 0.5, lr: 0.001, imagesPerSecond: 100, seconds: opts.epochSeconds ?? 2 });
  return withErrorClassification({
    async resolveRun(input) {
      if (opts.badConfig) {
        throw new ConfigError('Invalid configs/x.yml:\n  - training.epochs: Too small; got 0');
      }
      return { runId: input.runId, runDir: `/runs/${input.runId}`, configName: 'smoke', dataset: 'att', epochs: opts.epochs, evalEvery: opts.evalEvery, backend: 'cpu', summary: 'fake' };
    },
    async prepareData() {
      return { cachePath: '/cache/x', key: 'k', manifestHash: 'm', identities: 40, images: 400, height: 28, width: 24, channels: 1, skipped: 0, built: false };
    },
    async trainEpochs({ firstEpoch, lastEpoch }) {
      rec.groups?.push([firstEpoch, lastEpoch]);
      const out = [];
      // Like the real activity, a retry reads back the epochs its failed attempt finished.
      for (let epoch = firstEpoch; epoch <= lastEpoch; epoch++) {
        out.push(rec.trained.includes(epoch) ? await trainEpochDone(epoch) : await trainEpoch({ epoch }));
      }
      return { epochs: out, checkpointPath: `/ck/${lastEpoch}`, backend: 'cpu', device: 'CPU' };
    },
    async evaluate({ epoch }) {
      rec.evaluated.push(epoch);
      // Accuracy peaks at epoch 2, so "best" and "final" differ.
      const accuracy = epoch === 2 ? 0.9 : 0.8;
      return { epoch, accuracy, auc: 0.95, eer: 0.1, threshold: 0.7, heldOutAccuracy: accuracy - 0.01, validationBalancedAccuracy: null, tarAtFar1e2: 0.5, resultPath: `/eval/${epoch}.json` };
    },
    async writeReport() {
      return { reportPath: '/runs/x/report.html' };
    },
    async exportModel({ epoch }) {
      rec.exported?.push(epoch);
      return { modelDir: '/runs/x/model', epoch, test: null };
    },
    async datasetFingerprint() {
      return { manifestHash: 'm', configName: 'smoke' };
    },
    async readChampion() {
      return null;
    },
    async promoteChampion(): Promise<never> {
      throw new Error('not used by these tests');
    },
  } satisfies Activities);
}

async function withWorkers<T>(activities: Activities, fn: (queues: { workflows: string; cpu: string; accel: string }) => Promise<T>): Promise<T> {
  const queues = { workflows: uniqueQueue('wf'), cpu: uniqueQueue('cpu'), accel: uniqueQueue('accel') };
  const workers = await createWorkers({
    connection: env.nativeConnection,
    namespace: 'default',
    roles: ALL_ROLES,
    activities,
    workflowBundle: env.bundle,
    taskQueues: queues,
  });
  return (await runWorkers(workers, fn(queues))) as T;
}

function input(queues: { cpu: string; accel: string }, extra: Partial<TrainInput> = {}): TrainInput {
  return { configPath: 'configs/smoke.yml', taskQueues: { cpu: queues.cpu, accel: queues.accel }, ...extra };
}

test('every epoch is trained once, in order, with evaluation every evalEvery epochs and at the end; the history replays', async () => {
  const rec: Recorder = { trained: [], evaluated: [], attempts: new Map(), exported: [] };
  const result = await withWorkers(fakeActivities(rec, { epochs: 5, evalEvery: 2 }), async (q) => {
    const workflowId = uniqueQueue('run');
    const handle = await env.client.workflow.start('trainFaceNet', { taskQueue: q.workflows, workflowId, args: [input(q)] });
    const out = (await handle.result()) as TrainResult;
    // The current workflow code replays its own history without a determinism error.
    const history = await handle.fetchHistory();
    const scheduled = (history.events ?? []).flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
    assert.deepEqual(scheduled, ['resolveRun', 'prepareData', 'trainEpochs', 'trainEpochs', 'evaluate', 'trainEpochs', 'evaluate', 'trainEpochs', 'evaluate', 'writeReport', 'exportModel']);
    await Worker.runReplayHistory({ workflowBundle: env.bundle }, history, workflowId);
    const progress = await handle.query<Progress>('progress');
    assert.deepEqual(
      { phase: progress.phase, epoch: progress.epoch, bestAccuracy: progress.bestAccuracy, bestEpoch: progress.bestEpoch, eta: progress.etaSeconds, ranOn: progress.ranOn },
      { phase: 'done', epoch: 5, bestAccuracy: 0.9, bestEpoch: 2, eta: 0, ranOn: 'cpu on CPU' },
    );
    return out;
  });
  assert.deepEqual(rec.trained, [1, 2, 3, 4, 5]);
  assert.deepEqual(rec.evaluated, [2, 4, 5]);
  assert.equal(result.best?.epoch, 2);
  assert.equal(result.final?.epoch, 5);
  assert.equal(result.stoppedEarly, false);
  assert.equal(result.reportPath, '/runs/x/report.html');
  assert.deepEqual(rec.exported, [5], 'the model of the last epoch is exported');
});

test('short epochs are trained several to an activity, never across an evaluation; long ones one each', async () => {
  const groupsFor = async (epochSeconds: number) => {
    const rec: Recorder = { trained: [], evaluated: [], attempts: new Map(), groups: [] };
    await withWorkers(fakeActivities(rec, { epochs: 12, evalEvery: 5, epochSeconds }), async (q) => {
      await env.client.workflow.execute('trainFaceNet', { taskQueue: q.workflows, workflowId: uniqueQueue('run'), args: [input(q)] });
    });
    assert.deepEqual(rec.trained, Array.from({ length: 12 }, (_, i) => i + 1));
    assert.deepEqual(rec.evaluated, [5, 10, 12]);
    return rec.groups;
  };
  // 10-second epochs: three fill the 30-second target once the first one has been timed.
  assert.deepEqual(await groupsFor(10), [[1, 1], [2, 4], [5, 5], [6, 8], [9, 10], [11, 12]]);
  assert.deepEqual(await groupsFor(40), Array.from({ length: 12 }, (_, i) => [i + 1, i + 1]));
});

test('a transient activity failure is retried and the epoch is still trained once', async () => {
  const rec: Recorder = { trained: [], evaluated: [], attempts: new Map() };
  await withWorkers(fakeActivities(rec, { epochs: 3, evalEvery: 3, failOnceAtEpoch: 2 }), async (q) => {
    await env.client.workflow.execute('trainFaceNet', { taskQueue: q.workflows, workflowId: uniqueQueue('run'), args: [input(q)] });
  });
  assert.equal(rec.attempts.get(2), 2);
  assert.deepEqual(rec.trained, [1, 2, 3]);
});

test('bad input fails fast, without retries, with the library message', async () => {
  const rec: Recorder = { trained: [], evaluated: [], attempts: new Map() };
  await withWorkers(fakeActivities(rec, { epochs: 3, evalEvery: 1, badConfig: true }), async (q) => {
    const started = Date.now();
    await assert.rejects(
      env.client.workflow.execute('trainFaceNet', { taskQueue: q.workflows, workflowId: uniqueQueue('run'), args: [input(q)] }),
      (err: unknown) => {
        assert.ok(err instanceof WorkflowFailedError);
        const cause = (err.cause as { cause?: unknown })?.cause;
        assert.ok(cause instanceof ApplicationFailure, `cause: ${String(cause)}`);
        assert.equal(cause.type, 'ConfigError');
        assert.equal(cause.nonRetryable, true);
        assert.match(cause.message, /training\.epochs: Too small/);
        return true;
      },
    );
    assert.ok(Date.now() - started < 10_000, 'a non-retryable failure must not wait for retries');
  });
  assert.deepEqual(rec.trained, []);
});

test('the stopAfterEpoch signal ends the run after that epoch, with a final evaluation and report', async () => {
  const rec: Recorder = { trained: [], evaluated: [], attempts: new Map() };
  const result = await withWorkers(fakeActivities(rec, { epochs: 10, evalEvery: 5, epochDelayMs: 300 }), async (q) => {
    const handle = await env.client.workflow.start('trainFaceNet', { taskQueue: q.workflows, workflowId: uniqueQueue('run'), args: [input(q)] });
    await handle.signal('stopAfterEpoch', 2);
    return (await handle.result()) as TrainResult;
  });
  assert.deepEqual(rec.trained, [1, 2]);
  assert.deepEqual(rec.evaluated, [2]);
  assert.equal(result.stoppedEarly, true);
  assert.equal(result.epochs, 2);
});

test('runs are findable by their search attributes', async () => {
  const rec: Recorder = { trained: [], evaluated: [], attempts: new Map() };
  const workflowId = uniqueQueue('findme');
  await withWorkers(fakeActivities(rec, { epochs: 2, evalEvery: 1 }), async (q) => {
    await env.client.workflow.execute('trainFaceNet', { taskQueue: q.workflows, workflowId, args: [input(q)] });
  });
  const query = `WorkflowId = '${workflowId}' AND FacenetDataset = 'att' AND FacenetConfig = 'smoke' AND FacenetBestAccuracy >= 0.85`;
  let found: string[] = [];
  for (let i = 0; i < 40 && found.length === 0; i++) {
    found = [];
    for await (const wf of env.client.workflow.list({ query })) found.push(wf.workflowId);
    if (found.length === 0) await new Promise((r) => setTimeout(r, 250));
  }
  assert.deepEqual(found, [workflowId]);
});

test('a long run continues as new every 25 epochs and still trains each epoch once', async () => {
  const rec: Recorder = { trained: [], evaluated: [], attempts: new Map() };
  const workflowId = uniqueQueue('long');
  const result = await withWorkers(fakeActivities(rec, { epochs: 30, evalEvery: 10 }), async (q) => {
    const handle = await env.client.workflow.start('trainFaceNet', { taskQueue: q.workflows, workflowId, args: [input(q)] });
    return (await handle.result()) as TrainResult;
  });
  assert.deepEqual(rec.trained, Array.from({ length: 30 }, (_, i) => i + 1));
  assert.deepEqual(rec.evaluated, [10, 20, 30]);
  assert.equal(result.epochs, 30);
  assert.equal(result.best?.epoch, 10, 'the best evaluation is carried across continue-as-new');
  const runs: string[] = [];
  for await (const wf of env.client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) runs.push(wf.status.name);
  for (let i = 0; i < 40 && runs.length < 2; i++) {
    await new Promise((r) => setTimeout(r, 250));
    runs.length = 0;
    for await (const wf of env.client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) runs.push(wf.status.name);
  }
  assert.deepEqual(runs.sort(), ['COMPLETED', 'CONTINUED_AS_NEW']);
});

test('a cancelled run says "stopping" while its training activity still saves the checkpoint', async () => {
  const rec: Recorder = { trained: [], evaluated: [], attempts: new Map() };
  let release = () => {};
  const released = new Promise<void>((r) => (release = r));
  const activities: Activities = {
    ...fakeActivities(rec, { epochs: 10, evalEvery: 10 }),
    // Heartbeats until cancelled, then holds on as a checkpoint being written would, until the test lets go.
    async trainEpochs() {
      const ctx = Context.current();
      const beat = setInterval(() => ctx.heartbeat({ epoch: 1, step: 1, stepsPerEpoch: 5 }), 100);
      try {
        return await ctx.cancelled;
      } catch (err) {
        await released;
        throw err;
      } finally {
        clearInterval(beat);
      }
    },
  };
  await withWorkers(activities, async (q) => {
    const handle = await env.client.workflow.start('trainFaceNet', { taskQueue: q.workflows, workflowId: uniqueQueue('run'), args: [input(q, { heartbeatTimeout: '2s' })] });
    const phase = async () => (await handle.query<Progress>('progress')).phase;
    for (let i = 0; i < 100 && (await phase()) !== 'training'; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(await phase(), 'training');
    await handle.cancel();
    // Before the change the phase stayed "training" until the activity gave up.
    for (let i = 0; i < 100 && (await phase()) !== 'stopping'; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(await phase(), 'stopping');
    assert.equal((await handle.describe()).status.name, 'RUNNING', 'the run waits for its checkpoint');
    release();
    await assert.rejects(handle.result(), (err: unknown) => err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure);
  });
});

test('a cancel the training activity finishes without seeing still ends the run, also where it would continue as new', async () => {
  const rec: Recorder = { trained: [], evaluated: [], attempts: new Map() };
  let groupEnd = () => {};
  const atHistoryLimit = new Promise<void>((r) => (groupEnd = r));
  let sent = () => {};
  const cancelSent = new Promise<void>((r) => (sent = r));
  const base = fakeActivities(rec, { epochs: 100, evalEvery: 100 });
  const activities: Activities = {
    ...base,
    // No heartbeats: the cancel never reaches the activity, which completes its group as if it came too late.
    async trainEpochs(args) {
      if (args.lastEpoch === 25) {
        groupEnd();
        await cancelSent;
      }
      return base.trainEpochs(args);
    },
  };
  await withWorkers(activities, async (q) => {
    const workflowId = uniqueQueue('run');
    const handle = await env.client.workflow.start('trainFaceNet', { taskQueue: q.workflows, workflowId, args: [input(q)] });
    await atHistoryLimit;
    await handle.cancel();
    await new Promise((r) => setTimeout(r, 500)); // the workflow takes the cancel request in
    sent();
    await assert.rejects(handle.result(), (err: unknown) => err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure);
    assert.equal(Math.max(...rec.trained), 25, 'the training went on after the cancel');
    const runs: string[] = [];
    for await (const wf of env.client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) runs.push(wf.status.name);
    assert.deepEqual(runs, ['CANCELLED']);
  });
});

test('cancelling a retrain stops its challenger also after the challenger continued as new', async () => {
  const rec: Recorder = { trained: [], evaluated: [], attempts: new Map() };
  await withWorkers(fakeActivities(rec, { epochs: 100, evalEvery: 10, epochDelayMs: 40 }), async (q) => {
    const workflowId = uniqueQueue('retrain');
    const retrainInput: RetrainInput = { configPath: 'configs/smoke.yml', championDir: '/champion', taskQueues: { cpu: q.cpu, accel: q.accel } };
    const handle = await env.client.workflow.start('retrainFaceNet', { taskQueue: q.workflows, workflowId, args: [retrainInput] });
    const challenger = challengerIdFor(workflowId, handle.firstExecutionRunId);
    const statuses = async () => {
      const out: string[] = [];
      for await (const wf of env.client.workflow.list({ query: `WorkflowId = '${challenger}'` })) out.push(wf.status.name);
      return out;
    };
    // The SDK's own child cancellation names the first run: once the challenger has continued as new, it would miss.
    for (let i = 0; i < 200 && !(await statuses()).includes('CONTINUED_AS_NEW'); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok((await statuses()).includes('CONTINUED_AS_NEW'), 'the challenger did not continue as new');
    await handle.cancel();
    await assert.rejects(handle.result(), (err: unknown) => err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure);
    assert.ok(rec.trained.length < 100, `the challenger trained all ${rec.trained.length} epochs`);
    let last: string[] = [];
    for (let i = 0; i < 40 && !(last = await statuses()).includes('CANCELLED'); i++) await new Promise((r) => setTimeout(r, 250));
    assert.ok(last.includes('CANCELLED'), `challenger runs: ${last.join(', ')}`);
  });
});

test('cancelling a sweep stops each running trial, also after it continued as new, and starts no other', async () => {
  const rec: Recorder = { trained: [], evaluated: [], attempts: new Map() };
  const trainedByRun = new Map<string, number>();
  const activities: Activities = {
    ...fakeActivities(rec, { epochs: 100, evalEvery: 10 }),
    // Two trials run at once: each counts its own epochs (the shared recorder would let one skip the other's).
    async trainEpochs({ runDir, firstEpoch, lastEpoch }) {
      const epochs = [];
      for (let epoch = firstEpoch; epoch <= lastEpoch; epoch++) {
        await new Promise((r) => setTimeout(r, 40));
        trainedByRun.set(runDir, (trainedByRun.get(runDir) ?? 0) + 1);
        epochs.push({ epoch, meanLoss: 1 / epoch, meanActiveFraction: 0.5, lr: 0.001, imagesPerSecond: 100, seconds: 2 });
      }
      return { epochs, checkpointPath: `/ck/${lastEpoch}`, backend: 'cpu', device: 'CPU' };
    },
  };
  await withWorkers(activities, async (q) => {
    const sweepId = uniqueQueue('sweep');
    const sweepInput: SweepInput = { configPath: 'configs/smoke.yml', trials: [[], [], []], parallelism: 2, taskQueues: { cpu: q.cpu, accel: q.accel } };
    const handle = await env.client.workflow.start('sweepFaceNet', { taskQueue: q.workflows, workflowId: sweepId, args: [sweepInput] });
    const statuses = async (trial: number) => {
      const out: string[] = [];
      for await (const wf of env.client.workflow.list({ query: `WorkflowId = '${sweepId}-trial-${trial}'` })) out.push(wf.status.name);
      return out;
    };
    const bothContinued = async () => (await statuses(0)).includes('CONTINUED_AS_NEW') && (await statuses(1)).includes('CONTINUED_AS_NEW');
    for (let i = 0; i < 200 && !(await bothContinued()); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(await bothContinued(), `the trials did not continue as new: ${await statuses(0)} / ${await statuses(1)}`);
    await handle.cancel();
    await assert.rejects(handle.result(), (err: unknown) => err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure);
    for (const trial of [0, 1]) {
      let last: string[] = [];
      for (let i = 0; i < 40 && !(last = await statuses(trial)).includes('CANCELLED'); i++) await new Promise((r) => setTimeout(r, 250));
      assert.ok(last.includes('CANCELLED'), `trial ${trial} runs: ${last.join(', ')}`);
      assert.ok(!last.includes('RUNNING'), `trial ${trial} is still running after the sweep ended`);
    }
    assert.deepEqual(await statuses(2), [], 'the cancelled sweep started its third trial');
    for (const [runDir, epochs] of trainedByRun) assert.ok(epochs < 100, `${runDir} trained all ${epochs} epochs`);
    assert.equal(trainedByRun.size, 2);
  });
});
