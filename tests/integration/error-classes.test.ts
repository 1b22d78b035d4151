// Each class of the library's errors driven through the real trainFaceNet workflow on a real Temporal
// dev server. The activities are stand-ins, but the errors they throw come from the real library calls
// (resolveRun, evaluateKFold, the durable writer on /dev/full), wrapped by the real classifier.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { Runtime } from '@temporalio/worker';
import { pipelineLogger } from '../../temporal/logger';
import { createWorkers, runWorkers, ALL_ROLES } from '../../temporal/workers';
import type { createActivities } from '../../activities';
import { STORAGE_FULL_MAX_ATTEMPTS, UNKNOWN_MAX_ATTEMPTS, withErrorClassification } from '../../activities/classify-errors';
import type { TrainInput } from '../../activities/types';
import { evaluateKFold } from '../../src/eval/kfold';
import { resolveRun } from '../../src/pipeline/resolve';
import { writeFileDurable } from '../../src/util/durable-fs';
import { loadConfig } from '../../src/config/load';
import { loadCheckpointModel } from '../../src/train/restore';
import { startTemporal, uniqueQueue, type TemporalTestEnv } from '../helpers/temporal';

type Activities = ReturnType<typeof createActivities>;
Runtime.install({ logger: pipelineLogger('WARN') });

const projectRoot = path.join(__dirname, '..', '..');
let env: TemporalTestEnv;
before(async () => {
  env = await startTemporal();
});
after(async () => {
  await env?.close();
});

type Failing = 'resolve' | 'evaluate' | 'checkpoint' | 'train' | 'export';

/** Activities that succeed except `failing`, which throws what the real library throws there; attempts are counted. */
function activities(failing: Failing, attempts: Map<string, number>): Activities {
  const count = (name: string) => attempts.set(name, (attempts.get(name) ?? 0) + 1);
  const summary = (epoch: number) => ({ epoch, meanLoss: 1, meanActiveFraction: 0.5, lr: 0.001, imagesPerSecond: 100, seconds: 1 });
  const train = async (epochs: number[]) => {
    count('train');
    // A checkpoint write that meets a full disk: /dev/full answers every write with ENOSPC.
    if (failing === 'train') await writeFileDurable('/dev/full', 'checkpoint bytes');
    return { epochs: epochs.map(summary), checkpointPath: `/ck/${epochs[epochs.length - 1]}`, backend: 'cpu', device: 'CPU' };
  };
  const acts = {
    async resolveRun(input: { runId: string; configPath?: string; overrides?: string[] }) {
      count('resolve');
      if (failing === 'resolve') return resolveRun({ configPath: input.configPath, overrides: input.overrides, runId: input.runId }, projectRoot);
      return { runId: input.runId, runDir: `/runs/${input.runId}`, configName: 'smoke', dataset: 'att', epochs: 2, evalEvery: 2, backend: 'cpu', summary: 'fake' };
    },
    async prepareData() {
      return { cachePath: '/cache/x', key: 'k', manifestHash: 'm', identities: 40, images: 400, height: 28, width: 24, channels: 1, skipped: 0, built: false };
    },
    trainEpochs: async ({ firstEpoch, lastEpoch }: { firstEpoch: number; lastEpoch: number }) =>
      train(Array.from({ length: lastEpoch - firstEpoch + 1 }, (_, i) => firstEpoch + i)),
    async evaluate({ epoch }: { epoch: number }) {
      count('evaluate');
      // lfw-cpu with few identities: a test fold without a different-person pair.
      if (failing === 'evaluate') evaluateKFold([0.1, 0.2, 0.3, 0.4], [true, true, true, false], [0, 0, 1, 1], { farTargets: [0.1] });
      // The evaluated epoch's checkpoint is gone (deleted by hand, or pruned): what loadCheckpointModel throws.
      if (failing === 'checkpoint') await loadCheckpointModel({ config: loadConfig(path.join(projectRoot, 'configs/smoke.yml')), inputShape: [28, 24, 1], checkpointPath: `/nonexistent/checkpoints/epoch-000${epoch}` });
      return { epoch, accuracy: 0.9, auc: 0.95, eer: 0.1, threshold: 0.7, heldOutAccuracy: 0.89, validationBalancedAccuracy: null, tarAtFar1e2: 0.5, resultPath: `/eval/${epoch}.json` };
    },
    async writeReport() {
      return { reportPath: '/runs/x/report.html' };
    },
    async exportModel({ epoch }: { epoch: number }): Promise<{ modelDir: string; epoch: number }> {
      count('export');
      if (failing === 'export') throw new Error('an unforeseen failure in export');
      return { modelDir: '/runs/x/model', epoch };
    },
  };
  return withErrorClassification(acts as unknown as Activities);
}

async function failedRun(failing: Failing, extra: Partial<TrainInput> = {}): Promise<{ failure: ApplicationFailure; attempts: Map<string, number> }> {
  const attempts = new Map<string, number>();
  const queues = { workflows: uniqueQueue('wf'), cpu: uniqueQueue('cpu'), accel: uniqueQueue('accel') };
  const workers = await createWorkers({
    connection: env.nativeConnection,
    namespace: 'default',
    roles: ALL_ROLES,
    activities: activities(failing, attempts),
    workflowBundle: env.bundle,
    taskQueues: queues,
  });
  const input: TrainInput = { configPath: 'configs/smoke.yml', taskQueues: { cpu: queues.cpu, accel: queues.accel }, ...extra };
  let failure: ApplicationFailure | null = null;
  await runWorkers(
    workers,
    env.client.workflow.execute('trainFaceNet', { taskQueue: queues.workflows, workflowId: uniqueQueue('run'), args: [input] }).then(
      () => assert.fail('the run must fail'),
      (err: unknown) => {
        assert.ok(err instanceof WorkflowFailedError, String(err));
        const cause = (err.cause as { cause?: unknown })?.cause;
        assert.ok(cause instanceof ApplicationFailure, `cause: ${String(cause)}`);
        failure = cause;
      },
    ),
  );
  return { failure: failure as unknown as ApplicationFailure, attempts };
}

test('bad input (run id "..") fails the run at the first attempt with the library message', async () => {
  const { failure, attempts } = await failedRun('resolve', { runId: '..' });
  assert.equal(failure.type, 'RunIdError');
  assert.equal(failure.nonRetryable, true);
  assert.match(failure.message, /Run id "\.\." is refused/);
  assert.equal(attempts.get('resolve'), 1);
});

test('an impossible protocol (a fold without different-person pairs) fails the run without retries', async () => {
  const { failure, attempts } = await failedRun('evaluate');
  assert.equal(failure.type, 'BadInputError');
  assert.equal(failure.nonRetryable, true);
  assert.match(failure.message, /evaluateKFold \(test fold 0\): needs at least one same-person and one different-person pair, got 2 same and 0 different/);
  assert.equal(attempts.get('evaluate'), 1);
});

test('a missing checkpoint fails the evaluation at once, naming the path', async () => {
  const { failure, attempts } = await failedRun('checkpoint');
  assert.equal(failure.type, 'CheckpointError');
  assert.equal(failure.nonRetryable, true);
  assert.match(failure.message, /Checkpoint \/nonexistent\/checkpoints\/epoch-0002 does not exist/);
  assert.equal(attempts.get('evaluate'), 1);
});

test('a full disk is retried a few times, then fails the run naming the file and the free space', async () => {
  const { failure, attempts } = await failedRun('train');
  assert.equal(failure.type, 'StorageFullError');
  assert.equal(failure.nonRetryable, true);
  assert.match(failure.message, /Cannot write \/dev\/full: no space is left on its device \(ENOSPC; .* free on that filesystem\).*gave up after 3 attempts/);
  assert.equal(attempts.get('train'), STORAGE_FULL_MAX_ATTEMPTS);
});

test('an unclassified error is retried UNKNOWN_MAX_ATTEMPTS times, then fails the run instead of retrying forever', async () => {
  const { failure, attempts } = await failedRun('export');
  assert.equal(failure.type, 'Error');
  assert.equal(failure.nonRetryable, true);
  assert.match(failure.message, /an unforeseen failure in export \(an unclassified error; gave up after 5 attempts\)/);
  assert.equal(attempts.get('export'), UNKNOWN_MAX_ATTEMPTS);
});
