// Run directories named after workflow ids: a retrain's challenger must get its own even when a schedule
// starts two retrains within one second (the same workflow id, to the second).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { challengerIdFor, runIdFor } from '../../workflows/run-id';

test('two retrains with one schedule-given workflow id get two challenger run directories', () => {
  const retrain = 'retrain-nightly-workflow-2026-12-06T04:38:47Z';
  // Temporal run ids (UUIDv7): the first 12 hex digits are the start time, the end is random.
  const a = challengerIdFor(retrain, '01a2496a-b517-740e-9a54-2c7681555f98');
  const b = challengerIdFor(retrain, '01a2496a-b517-7a41-8c02-77d0e1b3a9c4');
  assert.notEqual(runIdFor(a), runIdFor(b));
  assert.equal(a, `${retrain}-2c7681555f98-challenger`);
  assert.equal(runIdFor(a), 'retrain-nightly-workflow-2026-12-06T04-38-47Z-2c7681555f98-challenger');
});
