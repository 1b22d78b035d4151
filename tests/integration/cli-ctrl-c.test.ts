// Ctrl-C in `npm start` (cli.ts run): the run is cancelled after a checkpoint, not killed under its worker.
// The CLI runs as a user runs it, in its own process with its in-process worker, against a real dev server,
// and gets a real SIGINT in the middle of an epoch.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyCheckpoint } from '../../src/train';
import { startTemporal, uniqueQueue, waitForEpoch, type TemporalTestEnv } from '../helpers/temporal';

const ROOT = join(__dirname, '..', '..');
const DATA_PRESENT = existsSync(join(ROOT, '..', 'shared', 'datasets', 'att_faces', 's1'));

let env: TemporalTestEnv;
let runsDir: string;
before(async () => {
  env = await startTemporal();
  runsDir = mkdtempSync(join(tmpdir(), 'facenet-ctrl-c-'));
});
after(async () => {
  await env?.close();
});

test('Ctrl-C in `npm start` cancels the run after a valid checkpoint, says how to resume, and exits with 130', { skip: !DATA_PRESENT && 'AT&T data not found in ../shared/datasets' }, async () => {
  const runId = uniqueQueue('ctrl-c');
  const args = ['--import', 'tsx', join(ROOT, 'cli.ts'), 'run', '--config', 'configs/smoke.yml', '--run-id', runId,
    // Far more training than the cancellation takes to arrive (it rides on the activity's throttled heartbeats).
    '--set', `runsDir=${runsDir}`, '--set', 'backend=wasm', '--set', 'training.epochs=20', '--set', 'training.stepsPerEpoch=300'];
  const cli = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, TEMPORAL_ADDRESS: env.server.address }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  cli.stdout.on('data', (d: Buffer) => (output += d.toString()));
  cli.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => cli.once('exit', (code) => resolve(code)));
  try {
    const deadline = Date.now() + 60_000;
    while (!output.includes(`Started workflow ${runId}`)) {
      if (Date.now() > deadline || cli.exitCode !== null) throw new Error(`the CLI did not start the workflow:\n${output.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const handle = env.client.workflow.getHandle(runId);
    await waitForEpoch(handle, 1, 1500);
    cli.kill('SIGINT');
    // unref: a pending timer would keep this file's process alive after the test.
    const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 120_000).unref())]);
    assert.equal(code, 130, `exit code; output:\n${output.slice(-2000)}`);
    const resume = `npm start -- --config configs/smoke.yml --run-id ${runId}`;
    assert.ok(output.includes(`Cancelling: training stops after a checkpoint. Resume with: ${resume}`), output.slice(-2000));
    assert.ok(output.includes(`Cancelled; the latest checkpoint is kept. Resume with: ${resume}`), output.slice(-2000));
    assert.equal((await handle.describe()).status.name, 'CANCELLED');
    // The newest checkpoint is whole, and training stopped long before its last epoch (mid-epoch or at an epoch's end,
    // depending on when the heartbeat carried the cancellation in).
    const dir = join(runsDir, runId, 'checkpoints');
    const names = readdirSync(dir).filter((n) => n.startsWith('epoch-')).sort();
    const newest = names[names.length - 1] as string;
    const epochsDone = Number(/^epoch-(\d{4})/.exec(newest)?.[1]);
    assert.ok(epochsDone < 10, `training went on to ${newest} after Ctrl-C: ${names.join(', ')}`);
    assert.equal(await verifyCheckpoint(join(dir, newest)), null);
  } finally {
    if (cli.exitCode === null && cli.signalCode === null) cli.kill('SIGKILL');
  }
});
