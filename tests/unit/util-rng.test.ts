// The seeded generator's normal draws: Box-Muller over two uniform draws, so a run's noise and t-SNE start are
// functions of the seed alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/util/rng';

void test('gaussian() is Box-Muller over the next two uniform draws', () => {
  const rng = new Rng(7);
  const twin = new Rng(7);
  for (let i = 0; i < 100; i++) {
    const u = 1 - twin.next();
    const v = twin.next();
    assert.equal(rng.gaussian(), Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v));
  }
  assert.equal(rng.getState(), twin.getState());
});

void test('gaussian() has mean 0 and variance 1 over many draws', () => {
  const rng = new Rng(42);
  const n = 100_000;
  let sum = 0;
  let squares = 0;
  for (let i = 0; i < n; i++) {
    const x = rng.gaussian();
    sum += x;
    squares += x * x;
  }
  const mean = sum / n;
  // Standard errors: 1/sqrt(n) = 0.0032 for the mean, sqrt(2/n) = 0.0045 for the variance.
  assert.ok(Math.abs(mean) < 0.015, `mean ${mean}`);
  assert.ok(Math.abs(squares / n - mean * mean - 1) < 0.02, `variance ${squares / n - mean * mean}`);
});
