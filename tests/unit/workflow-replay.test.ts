// Workflows started before epochs were grouped must keep replaying on the new code (a worker upgraded in the
// middle of a long run): their history schedules one trainEpoch per epoch, and trainFaceNet takes that path
// for them (patched 'train-epochs-grouped'). The fixture is a trainFaceNet history recorded with the workflow
// code of commit 7b33a4c and stand-in activities: 4 epochs, evaluation every 2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Runtime, Worker } from '@temporalio/worker';
import { pipelineLogger } from '../../temporal/logger';
import { workflowBundle } from '../helpers/temporal';

Runtime.install({ logger: pipelineLogger('WARN') });

const FIXTURE = path.join(__dirname, '..', 'fixtures', 'train-history-one-epoch-per-activity.json');

test('a history recorded before epochs were grouped (one trainEpoch per epoch) replays without a determinism error', async () => {
  const history = JSON.parse(readFileSync(FIXTURE, 'utf8')) as { events: Array<Record<string, { activityType?: { name?: string } }>> };
  const scheduled = history.events.flatMap((e) => e['activityTaskScheduledEventAttributes']?.activityType?.name ?? []);
  assert.deepEqual(scheduled, ['resolveRun', 'prepareData', 'trainEpoch', 'trainEpoch', 'evaluate', 'trainEpoch', 'trainEpoch', 'evaluate', 'writeReport', 'exportModel']);
  await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, 'recorded-one-epoch-per-activity');
});
