// Scheduled retraining and sweeps with the real pipeline (smoke config, wasm) against a real dev server:
// a Temporal Schedule triggers retrainFaceNet, which skips unchanged data and promotes only a better
// model; a 4-trial sweep runs at most 2 trials at a time.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ScheduleHandle } from '@temporalio/client';
import type { Champion, RetrainInput, RetrainResult, SweepResult } from '../../activities/types';
import { resultOrExplain, startTemporal, uniqueQueue, type TemporalTestEnv } from '../helpers/temporal';
import { startWorkerProcess, type Queues, type WorkerProcess } from '../helpers/worker-process';

const ROOT = join(__dirname, '..', '..');
const ATT = join(ROOT, '..', 'shared', 'datasets', 'att_faces');
const skip = !existsSync(join(ATT, 's1')) && 'AT&T data not found in ../shared/datasets';

let env: TemporalTestEnv;
let worker: WorkerProcess;
let work: string;
const q: Queues = { workflows: uniqueQueue('wf'), cpu: uniqueQueue('cpu'), accel: uniqueQueue('accel') };

before(async () => {
  env = await startTemporal();
  work = mkdtempSync(join(tmpdir(), 'facenet-retrain-'));
  worker = await startWorkerProcess(env.server.address, q);
});
after(async () => {
  await worker?.kill();
  await env?.close();
});

async function triggerAndWait(schedule: ScheduleHandle, previousRuns: number): Promise<RetrainResult> {
  await schedule.trigger();
  for (let i = 0; i < 600; i++) {
    const desc = await schedule.describe();
    const actions = desc.info.recentActions;
    if (actions.length > previousRuns) {
      const started = actions[actions.length - 1]?.action;
      assert.ok(started && started.type === 'startWorkflow');
      return (await resultOrExplain(env.client.workflow.getHandle(started.workflow.workflowId).result())) as RetrainResult;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('the schedule did not start a workflow');
}

function setChampionAccuracy(championDir: string, accuracy: number): void {
  const file = join(championDir, 'champion.json');
  const record = JSON.parse(readFileSync(file, 'utf8')) as Champion;
  writeFileSync(file, JSON.stringify({ ...record, accuracy }));
}

test('a scheduled retrain skips unchanged data and promotes only a better model', { skip }, async () => {
  const data = join(work, 'att_faces');
  for (let s = 1; s <= 12; s++) cpSync(join(ATT, `s${s}`), join(data, `s${s}`), { recursive: true });
  const championDir = join(work, 'champion');
  const input: RetrainInput = {
    configPath: 'configs/smoke.yml',
    overrides: [`runsDir=${join(work, 'runs')}`, 'backend=wasm', `dataset.source.dir=${data}`, 'dataset.split.testSubjects=[s11, s12]', `dataset.cacheDir=${join(work, 'cache')}`],
    championDir,
    warmStart: true,
    taskQueues: { cpu: q.cpu, accel: q.accel },
  };
  const schedule = await env.client.schedule.create({
    scheduleId: uniqueQueue('retrain'),
    spec: { intervals: [{ every: '1 day' }] },
    action: { type: 'startWorkflow', workflowType: 'retrainFaceNet', taskQueue: q.workflows, args: [input] },
  });
  try {
    const first = await triggerAndWait(schedule, 0);
    assert.equal(first.promoted, true, first.reason);
    assert.match(first.reason, /no champion yet/);
    const champion1 = JSON.parse(readFileSync(join(championDir, 'champion.json'), 'utf8')) as Champion;
    assert.ok(existsSync(join(champion1.modelDir, 'model.json')));
    assert.equal(champion1.accuracy, first.challenger?.exportedTest?.accuracy);

    const second = await triggerAndWait(schedule, 1);
    assert.equal(second.skipped, true);
    assert.equal(second.challenger, null);
    assert.match(second.reason, /unchanged/);

    // The same files with the same sizes, one image edited in place: the content fingerprint sees it.
    // A champion that cannot be beaten stays.
    const edited = join(data, 's1', '1.pgm');
    const bytes = readFileSync(edited);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1]! + 1) % 256;
    writeFileSync(edited, bytes);
    setChampionAccuracy(championDir, 1.0);
    const third = await triggerAndWait(schedule, 2);
    assert.equal(third.skipped, false);
    assert.equal(third.promoted, false, third.reason);
    assert.match(third.reason, /does not beat champion/);
    assert.equal((JSON.parse(readFileSync(join(championDir, 'champion.json'), 'utf8')) as Champion).runId, champion1.runId);

    // Newer data again, and a weak champion: the challenger replaces it.
    cpSync(join(ATT, 's1', '2.pgm'), join(data, 's1', '12.pgm'));
    setChampionAccuracy(championDir, 0.0);
    const fourth = await triggerAndWait(schedule, 3);
    assert.equal(fourth.promoted, true, fourth.reason);
    const champion4 = JSON.parse(readFileSync(join(championDir, 'champion.json'), 'utf8')) as Champion;
    assert.notEqual(champion4.runId, champion1.runId);
    assert.equal(existsSync(champion1.modelDir), false, 'the replaced champion model is removed');
    assert.ok(existsSync(join(champion4.modelDir, 'model.json')));
  } finally {
    await schedule.delete();
  }
});

test('a 4-trial sweep runs every trial, at most 2 at a time, and names the best', { skip }, async () => {
  const workflowId = uniqueQueue('sweep');
  const result = (await env.client.workflow.execute('sweepFaceNet', {
    taskQueue: q.workflows,
    workflowId,
    args: [
      {
        configPath: 'configs/smoke.yml',
        overrides: [`runsDir=${join(work, 'sweep-runs')}`, 'backend=wasm', 'training.epochs=1', `dataset.cacheDir=${join(work, 'cache')}`],
        trials: [['optimizer.learningRate=0.003'], ['optimizer.learningRate=0.001'], ['loss.margin=0.2'], ['loss.miner=batch-hard']],
        parallelism: 2,
        taskQueues: { cpu: q.cpu, accel: q.accel },
      },
    ],
  })) as SweepResult;
  assert.equal(result.trials.length, 4);
  assert.deepEqual(result.trials.map((t) => t.error), [null, null, null, null]);
  const accuracies = result.trials.map((t) => t.result?.final?.accuracy ?? -1);
  assert.equal(result.best, accuracies.indexOf(Math.max(...accuracies)));

  // Overlap of the child workflows' lifetimes, from the server's own records.
  const spans = await Promise.all(
    result.trials.map(async (t) => {
      const d = await env.client.workflow.getHandle(t.workflowId).describe();
      return [d.startTime.getTime(), (d.closeTime as Date).getTime()] as const;
    }),
  );
  const events = spans.flatMap(([s, e]) => [[s, 1], [e, -1]] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let running = 0;
  let most = 0;
  for (const [, delta] of events) most = Math.max(most, (running += delta));
  assert.equal(most, 2);
});
