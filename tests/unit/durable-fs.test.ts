// The one whole-or-nothing writer: no temp left on error, a full disk named with its free space, and
// the leftovers of a killed writer removed by the next one, never those of a live writer.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { datasetSchema, preprocessSchema } from '../../src/config/schema';
import { prepareDataset } from '../../src/data/prepare';
import { StorageFullError } from '../../src/errors';
import { checkpointName, listCheckpoints, loadLatestCheckpoint, writeCheckpoint } from '../../src/train/checkpoint';
import type { CheckpointContents } from '../../src/train/state';
import {
  parseTempName,
  removeStaleTemps,
  STALE_TEMP_MS,
  tempName,
  writeDirAtomic,
  writeFileAtomic,
  writeFileAtomicSync,
  writeFileDurable,
} from '../../src/util/durable-fs';
import { tempDir, writeAttTree } from '../fixtures/data-fixtures';

const tmp = tempDir('facenet-durable-');
after(tmp.cleanup);
let n = 0;
const fresh = (): string => {
  const dir = path.join(tmp.dir, `d${n++}`);
  mkdirSync(dir, { recursive: true });
  return dir;
};
/** A pid that ran on this host and has exited. */
const deadPid = (): number => spawnSync(process.execPath, ['-e', '']).pid as number;
/** The temp name a writer with `pid` on this host would have used for `target`. */
const leftoverOf = (target: string, pid: number): string => tempName(target).replace(`-${process.pid}-`, `-${pid}-`);

test('temp names carry their target, host and pid', () => {
  const name = tempName('epoch-0003-step-000120');
  assert.deepEqual({ ...parseTempName(name), host: undefined }, { target: 'epoch-0003-step-000120', host: undefined, pid: process.pid });
  assert.equal(parseTempName(`${name}-old`)?.target, 'epoch-0003-step-000120');
  assert.equal(parseTempName('.tmp-epoch-0003-deadbeef'), null);
});

test('every writer removes its temp when the write fails', async () => {
  const dir = fresh();
  // The target is a non-empty folder: the final rename fails after the temp was written.
  mkdirSync(path.join(dir, 'busy', 'inside'), { recursive: true });
  assert.throws(() => writeFileAtomicSync(path.join(dir, 'busy'), 'x'));
  await assert.rejects(writeFileAtomic(path.join(dir, 'busy'), 'x'));
  await assert.rejects(
    writeDirAtomic(dir, 'model', async (t) => {
      writeFileSync(path.join(t, 'weights.bin'), 'half');
      throw new Error('killed halfway');
    }),
    /killed halfway/,
  );
  assert.deepEqual(readdirSync(dir), ['busy']);
});

test('a full disk is a StorageFullError naming the file and the free space', async () => {
  // /dev/full answers every write with ENOSPC.
  await assert.rejects(writeFileDurable('/dev/full', 'x'), (err: unknown) => {
    assert.ok(err instanceof StorageFullError);
    assert.equal(err.code, 'ENOSPC');
    assert.equal(err.path, '/dev/full');
    assert.ok(typeof err.freeBytes === 'number' && err.freeBytes >= 0);
    assert.match(err.message, /^Cannot write \/dev\/full: no space is left on its device \(ENOSPC; [\d.]+ (bytes|KiB|MiB|GiB|TiB) free on that filesystem\)/);
    return true;
  });
});

test('stale temps: a dead writer of this host or an old one of another host goes; a live writer keeps its temp', async () => {
  const dir = fresh();
  const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
  try {
    const dead = leftoverOf('epoch-0004', deadPid());
    const live = leftoverOf('epoch-0005', sleeper.pid as number);
    const mine = tempName('epoch-0006');
    const otherHostFresh = '.tmp-model-0badc0de-123-0a0b0c0d';
    const otherHostOld = '.tmp-model-0badc0de-124-0a0b0c0e';
    const foreignOld = '.tmp-whatever';
    for (const d of [dead, live, mine, otherHostFresh, otherHostOld, foreignOld, 'epoch-0003']) mkdirSync(path.join(dir, d));
    const old = new Date(Date.now() - STALE_TEMP_MS - 60_000);
    utimesSync(path.join(dir, otherHostOld), old, old);
    utimesSync(path.join(dir, foreignOld), old, old);
    const removed = await removeStaleTemps(dir);
    assert.deepEqual(removed.sort(), [dead, otherHostOld, foreignOld].sort());
    assert.deepEqual(readdirSync(dir).sort(), [live, mine, otherHostFresh, 'epoch-0003'].sort());
  } finally {
    sleeper.kill('SIGKILL');
  }
});

test('an old version moved aside by a writer killed before the swap is put back', async () => {
  const dir = fresh();
  const aside = `${leftoverOf('model', deadPid())}-old`;
  mkdirSync(path.join(dir, aside));
  writeFileSync(path.join(dir, aside, 'model.json'), '{}');
  await removeStaleTemps(dir);
  assert.deepEqual(readdirSync(dir), ['model']);
  assert.equal(readFileSync(path.join(dir, 'model', 'model.json'), 'utf8'), '{}');
});

test('a writer killed (SIGKILL) mid-write leaves a temp that the next write of the same folder removes', async () => {
  const dir = fresh();
  const script = `
    const { writeDirAtomic } = require(${JSON.stringify(path.resolve('src/util/durable-fs.ts'))});
    writeDirAtomic(${JSON.stringify(dir)}, 'model', async (t) => {
      require('node:fs').writeFileSync(require('node:path').join(t, 'weights.bin'), 'half');
      process.stdout.write('filling\\n');
      await new Promise(() => setInterval(() => {}, 1000));
    });`;
  const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  const left = readdirSync(dir);
  assert.equal(left.length, 1);
  assert.equal(parseTempName(left[0] as string)?.pid, child.pid);
  await writeDirAtomic(dir, 'model', async (t) => writeFileSync(path.join(t, 'weights.bin'), 'whole'));
  assert.deepEqual(readdirSync(dir), ['model']);
});

function checkpointContents(epoch: number, step: number): CheckpointContents {
  return {
    weights: [{ name: 'w', shape: [2], dtype: 'float32', values: Float32Array.from([epoch, step]) }],
    optimizer: { name: 'adam', step: 1, slots: [] },
    state: {
      epoch, step, globalStep: epoch * 10 + step, stepsPerEpoch: 10, learningRate: 0.001, rng: { seed: 1, states: {} },
      sampler: { epoch, step }, best: null, metrics: {}, config: {}, timing: { savedAt: '', trainSeconds: 0 },
    },
  };
}

test('after a kill plus recovery, export, cache build and mid-epoch checkpoint leave nothing behind', async () => {
  const pid = deadPid();
  const root = fresh();
  // A run directory with what each killed writer leaves: the export's temp folder (and an old model
  // moved aside), a half-built cache, a half-written mid-epoch checkpoint.
  const runDir = path.join(root, 'runs', 'r1');
  const checkpoints = path.join(runDir, 'checkpoints');
  await writeCheckpoint(checkpoints, checkpointContents(1, 0));
  const halfCheckpoint = path.join(checkpoints, leftoverOf(checkpointName(1, 5), pid));
  mkdirSync(halfCheckpoint);
  writeFileSync(path.join(halfCheckpoint, 'weights.bin'), 'half');
  mkdirSync(path.join(runDir, leftoverOf('model', pid)));
  writeAttTree(path.join(root, 'att'), 3, 2);
  const cacheDir = path.join(root, '.cache', 'preprocessed');
  const halfCache = path.join(cacheDir, leftoverOf('att-0123456789abcdef', pid));
  mkdirSync(halfCache, { recursive: true });
  writeFileSync(path.join(halfCache, 'shard-0000.bin'), 'half');

  // Recovery: what the retried activities do.
  const { checkpoint } = await loadLatestCheckpoint(checkpoints);
  assert.equal(checkpoint?.name, 'epoch-0001');
  await writeCheckpoint(checkpoints, checkpointContents(1, 5));
  await writeDirAtomic(runDir, 'model', async (t) => writeFileSync(path.join(t, 'model.json'), '{}'));
  const prepared = await prepareDataset(
    datasetSchema.parse({ name: 'att', source: { dir: 'att' }, split: { kind: 'att-subjects' } }),
    preprocessSchema.parse({ channels: 1 }),
    { projectRoot: root },
  );

  assert.deepEqual(readdirSync(checkpoints).sort(), ['epoch-0001', 'epoch-0001-step-000005']);
  assert.deepEqual(await listCheckpoints(checkpoints), ['epoch-0001-step-000005', 'epoch-0001']);
  assert.deepEqual(readdirSync(runDir).sort(), ['checkpoints', 'model']);
  assert.deepEqual(readdirSync(cacheDir).sort(), [path.basename(prepared.cachePath), 'fingerprints'].sort());
  assert.ok(existsSync(path.join(prepared.cachePath, 'manifest.json')));
  assert.deepEqual(readdirSync(path.join(cacheDir, 'fingerprints')).filter((f) => f.startsWith('.tmp-')), []);
});
