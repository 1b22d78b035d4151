// The Temporal server stops and starts again (state in a database file) in the middle of a run:
// the worker and the run carry on, and every epoch is still trained exactly once.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TrainResult } from '../../activities/types';
import { readMetricsLog } from '../../src/run/metrics-log';
import { resultOrExplain, startTemporal, uniqueQueue, type TemporalTestEnv } from '../helpers/temporal';
import { startWorkerProcess, type Queues } from '../helpers/worker-process';

const ROOT = join(__dirname, '..', '..');
const skip = !existsSync(join(ROOT, '..', 'shared', 'datasets', 'att_faces', 's1')) && 'AT&T data not found in ../shared/datasets';

let env: TemporalTestEnv;
let work: string;
before(async () => {
  work = mkdtempSync(join(tmpdir(), 'facenet-restart-'));
  env = await startTemporal({ dbFile: join(work, 'temporal.db') });
});
after(async () => {
  await env?.close();
});

test('a run survives a restart of the Temporal server', { skip }, async () => {
  const q: Queues = { workflows: uniqueQueue('wf'), cpu: uniqueQueue('cpu'), accel: uniqueQueue('accel') };
  const worker = await startWorkerProcess(env.server.address, q);
  try {
    const workflowId = uniqueQueue('restart');
    const handle = await env.client.workflow.start('trainFaceNet', {
      taskQueue: q.workflows,
      workflowId,
      args: [
        {
          configPath: 'configs/smoke.yml',
          overrides: [`runsDir=${join(work, 'runs')}`, 'backend=wasm', 'training.epochs=3', 'training.stepsPerEpoch=20'],
          taskQueues: { cpu: q.cpu, accel: q.accel },
          heartbeatTimeout: '10s',
        },
      ],
    });
    const firstCheckpoint = join(work, 'runs', workflowId, 'checkpoints', 'epoch-0001', 'manifest.json');
    for (let i = 0; i < 1200 && !existsSync(firstCheckpoint); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(existsSync(firstCheckpoint), 'epoch 1 finished before the restart');

    await env.server.stop();
    await new Promise((r) => setTimeout(r, 3000));
    await env.server.launch();

    const result = (await resultOrExplain(handle.result())) as TrainResult;
    assert.equal(result.epochs, 3);
    assert.deepEqual(readMetricsLog(join(work, 'runs', workflowId, 'metrics.csv')).map((r) => r.epoch), [1, 2, 3]);
  } finally {
    await worker.kill();
  }
});
