// `facenet sweep` as a user runs it, on the embedded dev server (a port and state folder of its own): it runs
// the trials with its in-process worker, ends by itself, and prints a summary table whose numbers are the
// trials' own evaluation results; `status <sweep-id>` shows the same trials afterwards.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../temporal/dev-server';

const ROOT = join(__dirname, '..', '..');
const DATA_PRESENT = existsSync(join(ROOT, '..', 'shared', 'datasets', 'att_faces', 's1'));
const run = promisify(execFile);

let work: string;
let env: NodeJS.ProcessEnv;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'facenet-cli-sweep-'));
  let port: number;
  do port = await freePort();
  while (port > 64535);
  env = { ...process.env, FACENET_TEMPORAL_PORT: String(port), FACENET_TEMPORAL_DIR: join(work, 'temporal'), FACENET_ROOT: ROOT };
  delete env['TEMPORAL_ADDRESS'];
});
after(() => rmSync(work, { recursive: true, force: true }));

async function facenet(args: string[]): Promise<string> {
  const { stdout } = await run('npm', ['run', '--silent', 'facenet', '--', ...args], { cwd: ROOT, env, maxBuffer: 16 << 20 });
  return stdout;
}

test('a sweep runs its trials with the in-process worker, ends, and prints the summary table', { skip: !DATA_PRESENT && 'AT&T data not found in ../shared/datasets' }, async () => {
  const runsDir = join(work, 'runs');
  const id = 'cli-sweep';
  const out = await facenet([
    'sweep', '--config', 'configs/smoke.yml', '--set', `runsDir=${runsDir}`, '--set', 'training.epochs=1', '--set', 'training.stepsPerEpoch=2',
    '--trial', 'optimizer.learningRate=0.003', '--trial', 'optimizer.learningRate=0.001;loss.margin=0.3', '--parallel', '2', '--id', id,
  ]);
  const lines = out.split('\n');
  const header = lines.findIndex((l) => /^trial\s+overrides\s+accuracy\s+AUC\s+run dir$/.test(l));
  assert.ok(header >= 0, `a summary table:\n${out.slice(-3000)}`);
  const rows = lines.slice(header + 2, header + 4).map((l) => l.split(/\s{2,}/));
  for (const [i, overrides] of [['optimizer.learningRate=0.003'], ['optimizer.learningRate=0.001; loss.margin=0.3']].entries()) {
    const row = rows[i] as string[];
    const runDir = join(runsDir, `${id}-trial-${i}`);
    const evaluation = JSON.parse(readFileSync(join(runDir, 'eval', 'epoch-0001.json'), 'utf8')) as {
      verification: { accuracy: number; auc: number };
      kfold: { accuracy: { mean: number } } | null;
    };
    // The headline accuracy, as src/pipeline/evaluate.ts summarises it: k-fold when the protocol has folds.
    const accuracy = evaluation.kfold ? evaluation.kfold.accuracy.mean : evaluation.verification.accuracy;
    assert.equal(row[0]?.replace('*', ''), String(i));
    assert.equal(row[1], overrides[0]);
    assert.equal(row[2], accuracy.toFixed(4), `trial ${i} accuracy`);
    assert.equal(row[3], evaluation.verification.auc.toFixed(4), `trial ${i} AUC`);
    assert.equal(row[4], runDir);
  }
  // The better trial is marked.
  const accuracies = rows.map((r) => Number(r[2]));
  const best = accuracies[0]! >= accuracies[1]! ? 0 : 1;
  assert.ok((rows[best] as string[])[0]?.endsWith('*'), out.slice(-2000));

  const status = await facenet(['status', id]);
  assert.match(status, /sweepFaceNet cli-sweep: COMPLETED/);
  assert.ok(status.includes(lines[header + 2] as string), `status shows the trials:\n${status}`);
});
