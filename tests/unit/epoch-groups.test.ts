import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lastEpochOfGroup, TARGET_ACTIVITY_SECONDS, typicalEpochSeconds } from '../../workflows/epoch-groups';

const base = { epoch: 1, totalEpochs: 60, evalEvery: 10, stopAfterEpoch: null, historyLimitEpoch: 25, epochSeconds: [] as number[] };

test('typical epoch length: mean of the last five, the warm-up epoch skipped when there are others', () => {
  assert.equal(typicalEpochSeconds([]), null);
  assert.equal(typicalEpochSeconds([9]), 9);
  assert.equal(typicalEpochSeconds([9, 3, 5]), 4);
  assert.equal(typicalEpochSeconds([100, 1, 2, 3, 4, 5, 6]), 4);
});

test('one epoch per activity until an epoch has been timed, and for epochs of the target length or longer', () => {
  assert.equal(lastEpochOfGroup(base), 1);
  assert.equal(lastEpochOfGroup({ ...base, epoch: 2, epochSeconds: [TARGET_ACTIVITY_SECONDS] }), 2);
  assert.equal(lastEpochOfGroup({ ...base, epoch: 2, epochSeconds: [500, 3600] }), 2);
});

test('short epochs fill the target time, but stop at the next evaluation, the stop epoch, the end and the history limit', () => {
  const short = { ...base, epoch: 2, epochSeconds: [5, 3] }; // typical 3 s: ten epochs fill 30 s
  assert.equal(lastEpochOfGroup(short), 10, 'evaluation after epoch 10');
  assert.equal(lastEpochOfGroup({ ...short, epoch: 11 }), 20);
  assert.equal(lastEpochOfGroup({ ...short, epoch: 11, evalEvery: 100 }), 20, 'ten epochs of 3 s');
  assert.equal(lastEpochOfGroup({ ...short, stopAfterEpoch: 4 }), 4);
  assert.equal(lastEpochOfGroup({ ...short, stopAfterEpoch: 1 }), 10, 'a stop epoch already passed does not shorten the group');
  assert.equal(lastEpochOfGroup({ ...short, totalEpochs: 6 }), 6);
  assert.equal(lastEpochOfGroup({ ...short, epoch: 21, historyLimitEpoch: 25 }), 25);
  assert.equal(lastEpochOfGroup({ ...short, epoch: 2, epochSeconds: [5, 7] }), 5, 'floor(30 / 7) = 4 epochs: 2..5');
});
