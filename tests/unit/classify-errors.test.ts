// The mapping from the library's error classes to Temporal's retry behaviour.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { classifyError, STORAGE_FULL_MAX_ATTEMPTS, UNKNOWN_MAX_ATTEMPTS, withErrorClassification } from '../../activities/classify-errors';
import { ConfigError } from '../../src/config/load';
import { DatasetError } from '../../src/data/errors';
import { BadInputError, StorageFullError, TransientError } from '../../src/errors';
import { evaluateKFold } from '../../src/eval/kfold';
import { validateEmbeddingModelOptions } from '../../src/model/options';
import { RunConflictError, RunIdError } from '../../src/run/run-dir';
import { RunChangedError } from '../../src/run/run-record';
import { NonFiniteLossError } from '../../src/train/errors';
import { BackendUnavailableError } from '../../src/backend';

function nonRetryable(out: unknown, type: string, message: RegExp): void {
  assert.ok(out instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(out)}`);
  assert.equal(out.nonRetryable, true);
  assert.equal(out.type, type);
  assert.match(out.message, message);
}

const thrown = (fn: () => unknown): Error => {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a throw');
};

test('bad input from every layer is non-retryable at the first attempt, with the library message and class name', () => {
  const cases: Array<[Error, string]> = [
    [new ConfigError('Invalid configs/x.yml'), 'ConfigError'],
    [new DatasetError('s1/1.pgm: truncated PGM', { path: 's1/1.pgm' }), 'DatasetError'],
    [new RunConflictError('another config'), 'RunConflictError'],
    [new RunIdError('Run id ".." is refused'), 'RunIdError'],
    [new RunChangedError('The dataset of run r changed'), 'RunChangedError'],
    [new NonFiniteLossError(3, 7, NaN), 'NonFiniteLossError'],
    [new BackendUnavailableError('no wasm'), 'BackendUnavailableError'],
    // Real throws of the library, formerly plain Errors retried forever:
    [thrown(() => validateEmbeddingModelOptions({ architecture: 'resnet18', widths: [4, 8, 8], stem: 'light', embeddingDim: 16, inputShape: [32, 32, 1], seed: 0 } as never)), 'BadInputError'],
    [thrown(() => evaluateKFold([0.1, 0.2, 0.3, 0.4], [true, true, true, false], [0, 0, 1, 1], { farTargets: [0.1] })), 'BadInputError'],
  ];
  for (const [err, type] of cases) nonRetryable(classifyError(err, 1), type, new RegExp(err.message.slice(0, 20).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  assert.match(cases[8]![0].message, /^evaluateKFold \(test fold 0\): needs at least one same-person and one different-person pair, got 2 same and 0 different/);
  assert.match(cases[7]![0].message, /Expected widths to be 4 positive integers/);
});

test('transient errors stay retryable at any attempt (the policy back-off applies)', () => {
  for (const err of [
    new TransientError('server busy'),
    new DatasetError('cannot reach http://x', { retryable: true }),
    Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }),
  ]) {
    assert.equal(classifyError(err, 1), err);
    assert.equal(classifyError(err, 50), err);
  }
});

test('a full disk is retried a few times, then non-retryable naming the file and the free space', () => {
  const err = new StorageFullError('/runs/r/checkpoints/epoch-0003', 'ENOSPC', 1536);
  assert.match(err.message, /Cannot write \/runs\/r\/checkpoints\/epoch-0003: no space is left on its device \(ENOSPC; 1\.5 KiB free/);
  for (let a = 1; a < STORAGE_FULL_MAX_ATTEMPTS; a++) assert.equal(classifyError(err, a), err);
  nonRetryable(classifyError(err, STORAGE_FULL_MAX_ATTEMPTS), 'StorageFullError', /epoch-0003.*gave up after 3 attempts/);
  const raw = Object.assign(new Error('EROFS: read-only file system, open /x'), { code: 'EROFS' });
  assert.equal(classifyError(raw, 1), raw);
  nonRetryable(classifyError(raw, STORAGE_FULL_MAX_ATTEMPTS), 'Error', /read-only/);
});

test('an unclassified error is retried, but only UNKNOWN_MAX_ATTEMPTS times', () => {
  const err = new Error('something unforeseen');
  for (let a = 1; a < UNKNOWN_MAX_ATTEMPTS; a++) assert.equal(classifyError(err, a), err);
  nonRetryable(classifyError(err, UNKNOWN_MAX_ATTEMPTS), 'Error', /something unforeseen \(an unclassified error; gave up after 5 attempts\)/);
});

test('cancellation and existing failures pass through untouched', () => {
  const cancelled = new CancelledFailure('cancelled');
  assert.equal(classifyError(cancelled, 99), cancelled);
  const failure = ApplicationFailure.retryable('x');
  assert.equal(classifyError(failure, 99), failure);
  assert.equal(classifyError('a string', 99), 'a string');
});

test('the wrapper turns a raw ENOSPC that names a path into a StorageFullError with the free space', async () => {
  const acts = withErrorClassification(
    {
      async write(): Promise<void> {
        throw Object.assign(new Error("ENOSPC: no space left on device, open '/tmp/x/y.json'"), { code: 'ENOSPC', path: '/tmp/x/y.json' });
      },
    },
    () => STORAGE_FULL_MAX_ATTEMPTS,
  );
  await assert.rejects(acts.write(), (out: unknown) => {
    nonRetryable(out, 'StorageFullError', /Cannot write \/tmp\/x\/y\.json: no space is left on its device \(ENOSPC; [\d.]+ (bytes|KiB|MiB|GiB|TiB) free on that filesystem\)/);
    return true;
  });
  assert.ok(new BadInputError('x').retryable === false && new TransientError('x').retryable);
});
