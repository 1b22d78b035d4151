// The dataset fingerprint from content, and the run record that refuses a silent change on resume.
import assert from 'node:assert/strict';
import { readFileSync, utimesSync, writeFileSync, statSync, existsSync } from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { datasetSchema, preprocessSchema, runConfigSchema, type DatasetConfig } from '../../src/config/schema';
import { indexAtt } from '../../src/data/att';
import { contentFingerprint } from '../../src/data/fingerprint';
import { prepareDataset } from '../../src/data/prepare';
import { BadInputError } from '../../src/errors';
import { prepareRunData } from '../../src/pipeline/data';
import { openRunDir, runPaths } from '../../src/run/run-dir';
import { checkRunBackend, checkRunDataset, readRunRecord, RunChangedError } from '../../src/run/run-record';
import { upsertMetricsRows } from '../../src/run/metrics-log';
import { tempDir, writeAttTree } from '../fixtures/data-fixtures';

const tmp = tempDir('facenet-record-');
after(tmp.cleanup);
let n = 0;

/** An AT&T fixture whose files carry an mtime an hour ago, so an edit now always moves the mtime. */
function attFixture(): { root: string; att: string } {
  const root = path.join(tmp.dir, `p${n++}`);
  const att = writeAttTree(path.join(root, 'att'), 3, 2);
  const past = new Date(Date.now() - 3600_000);
  for (const s of ['s1', 's2', 's3']) for (const i of [1, 2]) utimesSync(path.join(att, s, `${i}.pgm`), past, past);
  return { root, att };
}

/** Rewrites one pixel of s1/1.pgm in place: same file size, same name, different content. */
function editInPlace(att: string): void {
  const file = path.join(att, 's1/1.pgm');
  const bytes = readFileSync(file);
  const before = bytes.length;
  bytes[bytes.length - 1] = (bytes[bytes.length - 1]! + 1) % 256;
  writeFileSync(file, bytes);
  assert.equal(statSync(file).size, before);
}

test('the content fingerprint sees an in-place edit of the same size, and caches the hashes of unchanged files', async () => {
  const { root, att } = attFixture();
  const cacheFile = path.join(root, 'hashes.json');
  const a = await contentFingerprint(await indexAtt(att), { cacheFile });
  assert.deepEqual([a.files, a.hashed], [6, 6]);
  const again = await contentFingerprint(await indexAtt(att), { cacheFile });
  assert.deepEqual([again.hash, again.hashed], [a.hash, 0], 'nothing changed: every hash from the cache');
  editInPlace(att);
  const b = await contentFingerprint(await indexAtt(att), { cacheFile });
  assert.notEqual(b.hash, a.hash);
  assert.equal(b.hashed, 1, 'only the edited file is read again');
  // Without a cache the same value: the cache is only a shortcut.
  assert.equal((await contentFingerprint(await indexAtt(att))).hash, b.hash);
});

test('an in-place edit of the same size builds a new preprocessed cache instead of reusing the stale one', async () => {
  const { root, att } = attFixture();
  const ds: DatasetConfig = datasetSchema.parse({ name: 'att', source: { dir: 'att' }, split: { kind: 'att-subjects' } });
  const pre = preprocessSchema.parse({ channels: 1 });
  const a = await prepareDataset(ds, pre, { projectRoot: root });
  editInPlace(att);
  const b = await prepareDataset(ds, pre, { projectRoot: root });
  assert.equal(b.built, true);
  assert.notEqual(b.cachePath, a.cachePath);
  assert.notEqual(b.manifestHash, a.manifestHash);
});

function runWithAtt(resume: object = {}): { root: string; att: string; runDir: string } {
  const { root, att } = attFixture();
  const config = runConfigSchema.parse({
    name: 't',
    dataset: { name: 'att', source: { dir: att }, split: { kind: 'att-subjects', testSubjects: ['s2', 's3'] } },
    preprocess: { channels: 1 },
    training: { epochs: 2 },
    resume,
  });
  const runDir = openRunDir(path.join(root, 'runs'), 'r1', config).root;
  return { root, att, runDir };
}

test('a resumed run whose dataset changed is refused with both fingerprints; allowed, the change is recorded', async () => {
  const { root, att, runDir } = runWithAtt();
  const first = await prepareRunData(runDir, root);
  const recorded = readRunRecord(runDir).dataset;
  assert.equal(recorded?.fingerprint, first.manifestHash);
  upsertMetricsRows(runPaths(runDir).metrics, [{ epoch: 1, loss: 0.5, activeFraction: 0.5, lr: 0.001, imagesPerSecond: 1, seconds: 1 }]);
  const datasetJson = readFileSync(runPaths(runDir).dataset, 'utf8');

  editInPlace(att);
  const err = await prepareRunData(runDir, root).then(
    () => assert.fail('a changed dataset must be refused'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof RunChangedError && err instanceof BadInputError);
  assert.match(err.message, new RegExp(`recorded as ${first.manifestHash}.*is now [0-9a-f]{64}.*after epoch 1.*resume.allowDatasetChange=true`, 's'));
  assert.equal(readFileSync(runPaths(runDir).dataset, 'utf8'), datasetJson, 'dataset.json is left as it was');

  // The same run id, the same config plus resume.allowDatasetChange: accepted, recorded.
  const config = { ...JSON.parse(readFileSync(runPaths(runDir).config, 'utf8')), resume: { allowDatasetChange: true } };
  openRunDir(path.join(root, 'runs'), 'r1', runConfigSchema.parse(config));
  const second = await prepareRunData(runDir, root);
  const record = readRunRecord(runDir);
  assert.equal(record.dataset?.fingerprint, second.manifestHash);
  assert.deepEqual(
    record.changes.map((c) => [c.what, c.from, c.to, c.afterEpoch]),
    [['dataset', first.manifestHash, second.manifestHash, 1]],
  );
});

test('the backend record: kept the first time, a different backend or thread count refused, allowed and recorded', () => {
  const { runDir } = runWithAtt();
  assert.equal(checkRunBackend(runDir, { backend: 'tensorflow', threads: 2 }, false), null);
  assert.equal(checkRunBackend(runDir, { backend: 'tensorflow', threads: 2 }, false), null, 'the same one again');
  assert.throws(() => checkRunBackend(runDir, { backend: 'wasm', threads: 2 }, false), (e: unknown) => {
    assert.ok(e instanceof RunChangedError);
    assert.match(e.message, /trained on tensorflow with 2 thread\(s\).*this worker runs wasm with 2 thread\(s\).*resume\.allowBackendChange=true/s);
    return true;
  });
  assert.throws(() => checkRunBackend(runDir, { backend: 'tensorflow', threads: 1 }, false), RunChangedError);
  const change = checkRunBackend(runDir, { backend: 'wasm', threads: 2 }, true);
  assert.deepEqual([change?.from, change?.to], ['tensorflow with 2 thread(s)', 'wasm with 2 thread(s)']);
  assert.deepEqual(readRunRecord(runDir).backend?.backend, 'wasm');
  assert.equal(checkRunBackend(runDir, { backend: 'wasm', threads: 2 }, false), null, 'the accepted one is now the recorded one');
  assert.equal(readRunRecord(runDir).changes.length, 1);
});

test('the dataset record is written once per fingerprint and names the images', () => {
  const { runDir } = runWithAtt();
  assert.equal(existsSync(runPaths(runDir).record), false);
  assert.equal(checkRunDataset(runDir, { fingerprint: 'a'.repeat(64), images: 6, identities: 3 }, false), null);
  assert.throws(() => checkRunDataset(runDir, { fingerprint: 'b'.repeat(64), images: 5, identities: 3 }, false), /6 images, 3 identities.*5 images, 3 identities/s);
});
