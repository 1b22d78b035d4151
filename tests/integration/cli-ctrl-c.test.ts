// Ctrl-C in `npm start` as a person does it: the real command in a pseudo-terminal, on the embedded dev server
// it starts itself, Ctrl-C typed as a keystroke once training progress shows. The run is cancelled after a
// checkpoint, the CLI exits with 130 and leaves no server behind; the resume command it prints finishes the run.
// The embedded server gets a port and state folder of its own (FACENET_TEMPORAL_PORT/DIR), so the test neither
// meets nor touches a developer's .temporal/.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../temporal/dev-server';
import { runInPty, waitForOutput } from '../helpers/pty';

const ROOT = join(__dirname, '..', '..');
const DATA_PRESENT = existsSync(join(ROOT, '..', 'shared', 'datasets', 'att_faces', 's1'));

let work: string;
let env: NodeJS.ProcessEnv;
let port: number;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'facenet-cli-pty-'));
  do port = await freePort();
  while (port > 64535);
  env = { ...process.env, FACENET_TEMPORAL_PORT: String(port), FACENET_TEMPORAL_DIR: join(work, 'temporal'), FACENET_ROOT: ROOT };
  delete env['TEMPORAL_ADDRESS'];
});
after(() => rmSync(work, { recursive: true, force: true }));

/** Processes of this test's embedded server: the temporal CLI and its guard both name the port. */
function serverProcesses(): string[] {
  const ps = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  return ps.split('\n').filter((line) => line.includes(`--port ${port}`) || line.includes(`facenet-temporal-${port}.sock`));
}

async function noServerLeft(): Promise<void> {
  // The CLI waits for the server to stop before it exits; the poll only absorbs `ps` seeing a zombie late.
  for (let i = 0; i < 50 && serverProcesses().length > 0; i++) await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(serverProcesses(), [], 'no temporal server or guard is left running');
}

test('Ctrl-C in `npm start` (a real terminal) cancels after a checkpoint, exits 130, leaves nothing running; the printed command resumes', { skip: !DATA_PRESENT && 'AT&T data not found in ../shared/datasets' }, async () => {
  const runsDir = join(work, 'runs');
  const runId = 'pty-ctrl-c';
  // Enough steps that Ctrl-C lands in the first epochs; the resumed part is what makes the test take its time.
  const command = `npm start -- --config configs/smoke.yml --set runsDir=${runsDir} --set training.epochs=2 --set training.stepsPerEpoch=100 --run-id ${runId}`;
  const first = runInPty(command, { cwd: ROOT, env });
  try {
    await waitForOutput(first, (o) => /step \d+\/100/.test(o), 'training progress (step n/100)');
    first.type('\x03');
    assert.equal(await first.exited, 130, `exit code after Ctrl-C; output:\n${first.output().slice(-3000)}`);
  } finally {
    first.child.kill('SIGKILL');
  }
  const out = first.output();
  assert.match(out, /Cancelling…/);
  const hint = /Cancelled; the latest checkpoint is kept\. Resume with: (npm start .*)$/m.exec(out)?.[1];
  assert.ok(hint, `a resume command in the output:\n${out.slice(-3000)}`);
  // Every option given is in it, so it resumes this run and not a different config's.
  assert.equal(hint.trim(), command);
  await noServerLeft();
  const checkpoints = readdirSync(join(runsDir, runId, 'checkpoints')).filter((n) => n.startsWith('epoch-'));
  assert.ok(checkpoints.length > 0, 'a checkpoint was written on the way out');
  const finished = checkpoints.some((n) => n === 'epoch-0002');
  assert.ok(!finished, `training went on to the end after Ctrl-C: ${checkpoints.join(', ')}`);

  const second = runInPty(hint, { cwd: ROOT, env });
  try {
    assert.equal(await second.exited, 0, `the resumed run; output:\n${second.output().slice(-3000)}`);
  } finally {
    second.child.kill('SIGKILL');
  }
  assert.match(second.output(), /resuming: its last execution ended cancelled/);
  assert.match(second.output(), new RegExp(`Run ${runId} finished \\(2 epochs\\)`));
  assert.ok(existsSync(join(runsDir, runId, 'report.html')));
  await noServerLeft();
});

test('Ctrl-C in `npm start` stops a run that has continued as new (after its 25th epoch)', { skip: !DATA_PRESENT && 'AT&T data not found in ../shared/datasets' }, async () => {
  const runsDir = join(work, 'runs');
  const runId = 'pty-ctrl-c-continued';
  const epochs = 400;
  // The workflow continues as new every 25 epochs; the handle `workflow.start` returns names its first run,
  // which has ended by then. Cancelling through it once left training going on to the end.
  const command = `npm start -- --config configs/smoke.yml --set runsDir=${runsDir} --set training.epochs=${epochs} --set evaluation.every=${epochs} --run-id ${runId}`;
  const term = runInPty(command, { cwd: ROOT, env });
  try {
    await waitForOutput(term, (o) => /epoch (2[7-9]|[3-9]\d)\/400/.test(o), 'training past epoch 26 (the run has continued as new)', 180_000);
    term.type('\x03');
    assert.equal(await term.exited, 130, `exit code after Ctrl-C; output:\n${term.output().slice(-3000)}`);
  } finally {
    term.child.kill('SIGKILL');
  }
  assert.match(term.output(), /Cancelled; the latest checkpoint is kept\./);
  await noServerLeft();
  const epochsDone = readdirSync(join(runsDir, runId, 'checkpoints'))
    .map((n) => /^epoch-(\d+)/.exec(n)?.[1])
    .filter((e): e is string => e !== undefined)
    .map(Number);
  const latest = Math.max(...epochsDone);
  assert.ok(latest >= 26 && latest < epochs, `checkpoints end past the continuation and before the last epoch: ${latest}`);
  assert.ok(!existsSync(join(runsDir, runId, 'report.html')), 'no report: the run did not finish');
});

test('Ctrl-C in `facenet run | tee log` still cancels after a checkpoint and exits 130 (the pipe reader dies first)', { skip: !DATA_PRESENT && 'AT&T data not found in ../shared/datasets' }, async () => {
  const runsDir = join(work, 'runs');
  const runId = 'pty-ctrl-c-tee';
  const codeFile = join(work, 'tee-exit-code');
  // The CLI itself (what `npm start` runs after its bootstrap): npm dies of the SIGINT too, which would hide the
  // CLI's exit code from the shell.
  const command = `node --import tsx cli.ts run --config configs/smoke.yml --set runsDir=${runsDir} --set training.epochs=2 --set training.stepsPerEpoch=400 --run-id ${runId}`;
  // The terminal's SIGINT reaches tee as well, which exits at once: the CLI's next line has no reader. Before the
  // CLI dropped such output, its "Cancelling…" ended it with EPIPE (exit 1) and the run was never cancelled.
  const term = runInPty(`{ ${command} 2>&1; echo $? > ${codeFile}; } | tee ${join(work, 'tee.log')}`, { cwd: ROOT, env });
  try {
    // Through a pipe the progress is a line now and then, not a bar.
    await waitForOutput(term, (o) => /epoch 1\/2 \| starting/.test(o), 'the first epoch starting');
    await new Promise((r) => setTimeout(r, 2000));
    term.type('\x03');
    for (let i = 0; i < 150 && !existsSync(codeFile); i++) await new Promise((r) => setTimeout(r, 200));
  } finally {
    term.child.kill('SIGKILL');
  }
  assert.ok(existsSync(codeFile), `the CLI ended; terminal:\n${term.output().slice(-3000)}`);
  assert.equal(readFileSync(codeFile, 'utf8').trim(), '130', `the CLI's exit code; terminal:\n${term.output().slice(-3000)}`);
  await noServerLeft();
  const checkpoints = readdirSync(join(runsDir, runId, 'checkpoints')).filter((n) => n.startsWith('epoch-'));
  assert.ok(checkpoints.some((n) => /-step-/.test(n)), `a checkpoint written on the way out, in the middle of an epoch: ${checkpoints.join(', ')}`);
  assert.ok(!checkpoints.includes('epoch-0002'), `training went on to the end after Ctrl-C: ${checkpoints.join(', ')}`);
});
