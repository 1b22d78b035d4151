// What the CLI and the report show a person: durations, the run's wall time, the progress line from a real
// heartbeat's fields, the root cause and exit code of a failure, the sweep table, and the resume command.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ActivityFailure, ApplicationFailure, RetryState } from '@temporalio/common';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { formatDuration } from '../../src/util/duration';
import { renderTimings } from '../../src/report';
import { runWallSeconds } from '../../src/pipeline/report';
import { EtaEstimator, runLine, TRAIN_ACTIVITY } from '../../cli/progress';
import { explainFailure } from '../../cli/failure';
import { sweepTable } from '../../cli/sweep';
import { shellQuote, supervise, type Session } from '../../cli/session';
import { ProgressView } from '../../cli/progress';
import { main } from '../../cli';
import { temporalCliForMessages } from '../../temporal/cli-binary';
import type { Progress, TrainResult } from '../../activities/types';

test('durations read as people write them', () => {
  assert.equal(formatDuration(0.079), '79 ms');
  assert.equal(formatDuration(0.0042), '4.2 ms');
  assert.equal(formatDuration(7.94), '7.9 s');
  assert.equal(formatDuration(42.4), '42 s');
  assert.equal(formatDuration(72), '1 min 12 s');
  assert.equal(formatDuration(120), '2 min');
  assert.equal(formatDuration(2 * 3600 + 5 * 60 + 9), '2 h 5 min');
  assert.equal(renderTimings({ evaluationSeconds: 0.079 }).includes('<td>79 ms</td>'), true);
});

test("the report's wall time runs from the run's first file to its last result, not the sum of epochs", () => {
  const dir = mkdtempSync(join(tmpdir(), 'facenet-wall-'));
  try {
    mkdirSync(join(dir, 'eval'));
    const files = { config: join(dir, 'config.json'), metrics: join(dir, 'metrics.csv'), eval: join(dir, 'eval', 'epoch-0003.json') };
    for (const f of Object.values(files)) writeFileSync(f, '{}');
    const t0 = 1_700_000_000;
    utimesSync(files.config, t0, t0);
    utimesSync(files.metrics, t0 + 70, t0 + 70);
    utimesSync(files.eval, t0 + 72.5, t0 + 72.5);
    assert.equal(runWallSeconds(dir), 72.5);
    assert.equal(runWallSeconds(join(dir, 'missing')), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const progress: Progress = {
  phase: 'training', runId: 'r', epoch: 2, totalEpochs: 10, lastLoss: 0.3, lr: 0.001, bestAccuracy: 0.91, bestEpoch: 2, etaSeconds: 500, stopAfterEpoch: null, ranOn: 'tensorflow on CPU',
};

test('the progress line comes from the trainEpochs heartbeat: epoch, step/steps, loss, img/s, ETA', () => {
  // The fields trainEpochs heartbeats (src/pipeline/train.ts onProgress).
  const details = { epoch: 3, step: 5, stepsPerEpoch: 25, loss: 0.123456, activeFraction: 0.4, lr: 0.001, imagesPerSecond: 85.25, epochEtaSeconds: 40 };
  const line = runLine({ progress, activity: { name: TRAIN_ACTIVITY, details } }, new EtaEstimator());
  // 40 s left in this epoch (20 steps of 2 s), then 7 epochs of 25 steps x 2 s = 350 s: 390 s.
  assert.equal(line.text, 'epoch 3/10 | step 5/25 | loss 0.1235 | 85.3 img/s | ETA 6 min 30 s | best acc 0.9100 @ 2');
  assert.ok(Math.abs(line.fraction - (2 + 5 / 25) / 10) < 1e-12);
  // Sub-second epochs (att-cpu: ~1 s for 5 steps): 0.4 s left of this one, then 7 more of 1 s each.
  const fast = runLine({ progress, activity: { name: TRAIN_ACTIVITY, details: { ...details, step: 3, stepsPerEpoch: 5, epochEtaSeconds: 0.4 } } }, new EtaEstimator());
  assert.match(fast.text, /\| ETA 7.4 s \|/);
  // Outside training: the phase and the activity.
  const evaluating = runLine({ progress: { ...progress, phase: 'evaluating' }, activity: { name: 'evaluate', details: { phase: 'embedding', epoch: 2 } } }, new EtaEstimator());
  assert.equal(evaluating.text, 'evaluating (epoch 2/10): evaluate embedding | best acc 0.9100 @ 2');
  // Cancelled while training: the heartbeat still shows the last step, the line says the run is stopping.
  const stopping = runLine({ progress: { ...progress, phase: 'stopping' }, activity: { name: TRAIN_ACTIVITY, details } }, new EtaEstimator());
  assert.equal(stopping.text, 'stopping: saving a checkpoint (epoch 3/10, step 5/25) | best acc 0.9100 @ 2');
  assert.equal(stopping.fraction, 0.2);
  const stopped = runLine({ progress: { ...progress, phase: 'stopping' }, activity: null }, new EtaEstimator());
  assert.equal(stopped.text, 'stopping (epoch 2/10) | best acc 0.9100 @ 2');
});

function workflowFailure(cause: Error): WorkflowFailedError {
  return new WorkflowFailedError('Workflow execution failed', cause, RetryState.NON_RETRYABLE_FAILURE);
}

test('a failed run prints the library message from the cause chain; bad input exits 2, the rest 1', () => {
  const library = ApplicationFailure.create({ message: 'runs/x already holds a run with a different config', type: 'RunConflictError', nonRetryable: true });
  const activity = new ActivityFailure('Activity task failed', 'resolveRun', '1', RetryState.NON_RETRYABLE_FAILURE, 'worker', library);
  const bad = explainFailure(workflowFailure(activity));
  assert.equal(bad.exitCode, 2);
  assert.equal(bad.message, 'RunConflictError: runs/x already holds a run with a different config\n  (in activity resolveRun)');
  assert.ok(!bad.message.includes('    at '), 'no stack trace');

  const transient = ApplicationFailure.create({ message: 'ENOSPC: no space left on device', type: 'Error' });
  assert.deepEqual(explainFailure(workflowFailure(transient)), { message: 'ENOSPC: no space left on device', exitCode: 1 });

  const config = Object.assign(new Error('Invalid configs/x.yml: training.epochs'), { name: 'ConfigError' });
  assert.deepEqual(explainFailure(config), { message: 'Invalid configs/x.yml: training.epochs', exitCode: 2 });
});

test('the sweep summary: trial, overrides, accuracy, AUC, run dir, the best marked', () => {
  const result = (acc: number, auc: number, runDir: string) => ({ runDir, final: { accuracy: acc, auc } }) as unknown as TrainResult;
  const table = sweepTable(
    [
      { trial: 0, overrides: ['optimizer.learningRate=0.003'], workflowId: 's-trial-0', result: result(0.9579, 0.99123, 'runs/s-trial-0'), error: null },
      { trial: 1, overrides: ['optimizer.learningRate=0.001', 'loss.margin=0.3'], workflowId: 's-trial-1', result: null, error: 'NonFiniteLossError: loss is NaN\nmore' },
    ],
    0,
  );
  assert.deepEqual(table, [
    'trial  overrides                                      accuracy  AUC     run dir',
    `-----  ${'-'.repeat(45)}  --------  ------  ${'-'.repeat('failed: NonFiniteLossError: loss is NaN'.length)}`,
    '0*     optimizer.learningRate=0.003                   0.9579    0.9912  runs/s-trial-0',
    '1      optimizer.learningRate=0.001; loss.margin=0.3  -         -       failed: NonFiniteLossError: loss is NaN',
    '* best final accuracy',
  ]);
});

test('commands printed for copying survive a shell', () => {
  assert.equal(shellQuote('training.epochs=6'), 'training.epochs=6');
  assert.equal(shellQuote('optimizer.learningRate=0.001;loss.margin=0.3'), `'optimizer.learningRate=0.001;loss.margin=0.3'`);
  assert.equal(shellQuote("description=it's"), `'description=it'\\''s'`);
});

test('a misspelt command is named as unknown, with the list of commands, and exits 2 (not read as run arguments)', async () => {
  const saved = process.stderr.write;
  let printed = '';
  process.stderr.write = ((chunk: string | Uint8Array) => ((printed += String(chunk)), true)) as typeof process.stderr.write;
  try {
    const err = await main(['node', 'cli.ts', 'verfy', 'runs/x/model']).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof Error && err.name === 'CommanderError', String(err));
    assert.equal(explainFailure(err).exitCode, 2);
  } finally {
    process.stderr.write = saved;
  }
  assert.match(printed, /unknown command 'verfy'; the commands are run, status, sweep, schedule, embed, verify, enroll, identify, evaluate, soup\n\(add --help for usage\)/);
});

test("a removed run's bar is gone from the terminal; the others stay", async () => {
  const { PassThrough } = await import('node:stream');
  const { ProgressView } = await import('../../cli/progress');
  const out = Object.assign(new PassThrough(), { isTTY: true, columns: 120 }) as unknown as NodeJS.WriteStream;
  let written = '';
  out.on('data', (c: Buffer) => (written += c.toString()));
  const view = new ProgressView(out);
  try {
    view.update('retrain-1', { fraction: 0, text: 'checking the dataset and the champion' });
    view.update('schedule', { fraction: 0, text: 'next retrain soon' });
    view.remove('retrain-1');
    written = '';
    view.update('schedule', { fraction: 0, text: 'next retrain later' });
  } finally {
    view.close(); // else the bars' redraw timer keeps the test running
  }
  assert.match(written, /next retrain later/);
  assert.doesNotMatch(written, /checking the dataset/);
});

test('a message names the temporal CLI the way the user can type it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cli-name-'));
  try {
    const own = join(dir, 'project', '.tools', 'bin', 'temporal');
    mkdirSync(join(dir, 'project', '.tools', 'bin'), { recursive: true });
    mkdirSync(join(dir, 'bin'));
    writeFileSync(own, '');
    assert.equal(temporalCliForMessages(join(dir, 'project'), { PATH: '' }, own), '.tools/bin/temporal');
    assert.equal(temporalCliForMessages(dir, { PATH: '' }, own), 'project/.tools/bin/temporal');
    assert.equal(temporalCliForMessages(join(dir, 'elsewhere'), { PATH: '' }, own), own);
    assert.equal(temporalCliForMessages(dir, { PATH: '', TEMPORAL_CLI_PATH: '/opt/t/temporal' }, own), '/opt/t/temporal');
    writeFileSync(join(dir, 'bin', 'temporal'), '');
    assert.equal(temporalCliForMessages(join(dir, 'project'), { PATH: join(dir, 'bin') }, own), 'temporal');
    assert.equal(temporalCliForMessages(dir, { PATH: '' }, join(dir, 'missing')), 'temporal');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a run id, sweep id or schedule id that cannot name a run folder exits 2 before anything starts', async () => {
  for (const argv of [
    ['run', '--config', 'configs/smoke.yml', '--run-id', '..'],
    ['run', '--config', 'configs/smoke.yml', '--run-id', 'a/b'],
    ['sweep', '--config', 'configs/smoke.yml', '--id', '..', '--trial', 'training.seed=1'],
    ['schedule', '--config', 'configs/smoke.yml', '--every', '7d', '--champion', 'runs/c', '--id', '.hidden'],
  ]) {
    const err = await main(['node', 'cli.ts', ...argv]).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof Error && err.name === 'RunIdError', `${argv.join(' ')}: ${String(err)}`);
    const { message, exitCode } = explainFailure(err);
    assert.equal(exitCode, 2);
    assert.match(message, /^Run id ".*" is refused: a run id may hold only letters/);
  }
});

test('a run that fails before the in-process worker is up (another worker took it) is reported, not a crash', async () => {
  const library = ApplicationFailure.create({ message: 'Run id ".." is refused', type: 'RunIdError', nonRetryable: true });
  const failed = workflowFailure(new ActivityFailure('Activity task failed', 'resolveRun', '1', RetryState.NON_RETRYABLE_FAILURE, 'worker', library));
  // The worker takes a while to start; the result rejects at once. An unhandled rejection would fail this test.
  const session = { exiting: false, startWorker: () => sleep(50), forceExit: () => undefined } as unknown as Session;
  const handle = { result: () => Promise.reject(failed), cancel: async () => undefined } as unknown as WorkflowHandle;
  const out = new PassThrough();
  let printed = '';
  const savedError = console.error;
  console.error = (line: string) => (printed += `${line}\n`);
  const savedCode = process.exitCode;
  try {
    await supervise({
      session,
      view: new ProgressView(out as unknown as NodeJS.WriteStream),
      handle,
      name: 'Run x',
      resume: 'npm start -- --run-id x',
      cancelling: '',
      follow: (result) => result.then(() => undefined, () => undefined),
      done: () => assert.fail('the run failed'),
    });
    assert.equal(process.exitCode, 2);
  } finally {
    console.error = savedError;
    process.exitCode = savedCode;
  }
  assert.equal(printed, 'Run x failed: RunIdError: Run id ".." is refused\n  (in activity resolveRun)\n');
});

test('a log line longer than the terminal shows whole above the bars, with nothing left of the bars under it', async () => {
  const { PassThrough } = await import('node:stream');
  const { Terminal } = await import('@xterm/headless');
  const cols = 60;
  // convertEol: a tty turns \n into \r\n (onlcr).
  const term = new Terminal({ cols, rows: 12, allowProposedApi: true, convertEol: true });
  const out = Object.assign(new PassThrough(), { isTTY: true, columns: cols }) as unknown as NodeJS.WriteStream;
  let pending = Promise.resolve();
  out.on('data', (c: Buffer) => (pending = pending.then(() => new Promise<void>((r) => term.write(c, r)))));
  const view = new ProgressView(out);
  const message = `Cancelling… Resume with: npm run facenet -- sweep --config configs/att-cpu.yml ${'--trial training.seed=1 '.repeat(3)}--id s1`;
  try {
    view.update('trial 0', { fraction: 0.3, text: 'epoch 34/120 | step 4/5 | loss 0.2081 | 168.1 img/s' });
    view.update('trial 1', { fraction: 0.4, text: 'epoch 40/120 | step 3/5 | loss 0.2526 | 181.4 img/s' });
    const redrawn = () => new Promise((r) => setTimeout(r, 250)); // the bars redraw on a timer
    await redrawn();
    view.log(message);
    view.update('trial 1', { fraction: 0.4, text: 'stopping (epoch 40/120)' });
    await redrawn();
  } finally {
    view.close();
  }
  await new Promise((r) => setImmediate(r));
  await pending;
  const screen: string[] = [];
  for (let y = 0; y < term.buffer.active.length; y++) screen.push(term.buffer.active.getLine(y)?.translateToString(true) ?? '');
  const text = screen.filter((row) => row !== '');
  const bars = text.filter((row) => row.startsWith('trial '));
  assert.equal(text.slice(0, -2).join(''), message, `the screen:\n${screen.join('\n')}`);
  assert.equal(bars.length, 2, `the screen:\n${screen.join('\n')}`);
  assert.match(bars[1] ?? '', /stopping \(epoch 40\/120\)\s*$/);
  term.dispose();
});
