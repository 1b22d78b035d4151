// Which evaluation is the best: balanced accuracy on the validation pairs when there are any, else test accuracy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { balancedAccuracy, type EvalResult } from '../../src/pipeline/evaluate';
import { isBetter, selectionScore } from '../../workflows/selection';

const evalOf = (epoch: number, accuracy: number, validationBalancedAccuracy: number | null): EvalResult => ({
  epoch, accuracy, auc: 0.9, eer: 0.1, threshold: 1, heldOutAccuracy: null, validationBalancedAccuracy, tarAtFar1e2: null, resultPath: `/eval/${epoch}.json`,
});

void test('on mostly different-person validation pairs the balanced accuracy, not the plain one, picks the checkpoint', () => {
  // Run lfw-sc1's validation pairs (397 same, 16,439 different) at epochs 4 and 14, at their Youden thresholds: epoch 4
  // rejects more (FAR 0.102) and recognises less (TAR 0.824), so its plain accuracy is higher; its test accuracy was
  // 0.810 against epoch 14's 0.867.
  const e4 = { tar: 327 / 397, far: 1675 / 16439, accuracy: (327 + 14764) / 16836 };
  const e14 = { tar: 345 / 397, far: 1759 / 16439, accuracy: (345 + 14680) / 16836 };
  assert.ok(e4.accuracy > e14.accuracy);
  assert.ok(balancedAccuracy(e14) > balancedAccuracy(e4));
  const best = evalOf(4, 0.81, balancedAccuracy(e4));
  assert.equal(isBetter(evalOf(14, 0.867, balancedAccuracy(e14)), best), true);
  assert.equal(isBetter(best, evalOf(14, 0.867, balancedAccuracy(e14))), false);
  assert.equal(balancedAccuracy({ tar: 1, far: 0 }), 1);
  assert.equal(balancedAccuracy({ tar: 0.5, far: 0.5 }), 0.5);
});

void test('without validation pairs the test accuracy decides; the first of equals stays', () => {
  assert.equal(selectionScore(evalOf(1, 0.9, null)), 0.9);
  assert.equal(isBetter(evalOf(2, 0.91, null), evalOf(1, 0.9, null)), true);
  assert.equal(isBetter(evalOf(2, 0.9, null), evalOf(1, 0.9, null)), false);
  assert.equal(isBetter(evalOf(1, 0.5, null), null), true);
});
