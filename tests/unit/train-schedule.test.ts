import { test } from 'node:test';
import assert from 'node:assert/strict';
import { learningRateAt } from '../../src/train/schedule';
import type { ScheduleConfig } from '../../src/config/schema';

const base: ScheduleConfig = { kind: 'none', stepEpochs: 50, gamma: 0.5, minLearningRate: 0, warmupEpochs: 0 };
const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} != ${b}`);

test('none keeps the base rate everywhere', () => {
  assert.equal(learningRateAt(base, 0.1, 0, 0, 10, 5), 0.1);
  assert.equal(learningRateAt(base, 0.1, 4, 9, 10, 5), 0.1);
});

test('step halves the rate every stepEpochs epochs', () => {
  const s: ScheduleConfig = { ...base, kind: 'step', stepEpochs: 2, gamma: 0.5 };
  assert.equal(learningRateAt(s, 0.002, 0, 5, 10, 10), 0.002);
  assert.equal(learningRateAt(s, 0.002, 1, 9, 10, 10), 0.002);
  assert.equal(learningRateAt(s, 0.002, 2, 0, 10, 10), 0.001);
  assert.equal(learningRateAt(s, 0.002, 5, 0, 10, 10), 0.0005);
});

test('cosine decays per step from base to min over all steps', () => {
  const s: ScheduleConfig = { ...base, kind: 'cosine', minLearningRate: 0.1 };
  // 2 epochs x 2 steps = 4 steps: t = 0, 1/4, 1/2, 3/4.
  close(learningRateAt(s, 1, 0, 0, 2, 2), 1);
  close(learningRateAt(s, 1, 0, 1, 2, 2), 0.1 + 0.9 * (1 + Math.SQRT1_2) / 2); // 0.86819805...
  close(learningRateAt(s, 1, 1, 0, 2, 2), 0.55);
  close(learningRateAt(s, 1, 1, 1, 2, 2), 0.1 + 0.9 * (1 - Math.SQRT1_2) / 2); // 0.23180194...
});

test('linear warm-up ramps per step, then the schedule takes over', () => {
  const s: ScheduleConfig = { ...base, kind: 'cosine', warmupEpochs: 1, minLearningRate: 0 };
  // 4 steps per epoch, warm-up = 4 steps: 0.25, 0.5, 0.75, 1.0 of base.
  close(learningRateAt(s, 0.4, 0, 0, 4, 3), 0.1);
  close(learningRateAt(s, 0.4, 0, 3, 4, 3), 0.4);
  // After warm-up: 8 decay steps; step 4 is t = 0 (base), step 8 is t = 1/2 (half).
  close(learningRateAt(s, 0.4, 1, 0, 4, 3), 0.4);
  close(learningRateAt(s, 0.4, 2, 0, 4, 3), 0.2);
});

test('invalid positions are refused with the value', () => {
  assert.throws(() => learningRateAt(base, 0.1, 0, 0, 0, 5), /stepsPerEpoch > 0, but got 0/);
});
