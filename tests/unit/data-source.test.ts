import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { datasetSchema, preprocessSchema, type DatasetConfig } from '../../src/config/schema';
import { DatasetError } from '../../src/data/errors';
import { prepareDataset } from '../../src/data/prepare';
import { resolveSource } from '../../src/data/source';
import { buildTgz, buildZip, LFW_FIXTURE_PROTOCOL, tempDir, writeAttTree, writeLfwTree } from '../fixtures/data-fixtures';
import { startServer, type TestServer } from '../fixtures/http-server';

const tmp = tempDir();
let server: TestServer;
let attZip: Buffer;
let lfwTgz: Buffer;
let n = 0;
const fast = { retries: 2, backoffMs: 5 };
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const pre = preprocessSchema.parse({ channels: 1 });

before(async () => {
  // att_faces.zip laid out as the original: att_faces/s1/1.pgm ...
  const src = path.join(tmp.dir, 'src');
  writeAttTree(path.join(src, 'att_faces'), 2, 2, 4, 4);
  const rels = ['README', ...[1, 2].flatMap((s) => [1, 2].map((i) => `s${s}/${i}.pgm`))];
  attZip = buildZip(rels.map((r) => ({ name: `att_faces/${r}`, data: readFileSync(path.join(src, 'att_faces', r)) })));
  await writeLfwTree(path.join(src, 'lfw'));
  lfwTgz = readFileSync(buildTgz(path.join(src, 'lfw'), 'lfw-deepfunneled', path.join(tmp.dir, 'lfw.tgz')));
  const protocol = Object.fromEntries(Object.entries(LFW_FIXTURE_PROTOCOL).map(([f, t]) => [`/lfw/${f}`, { data: Buffer.from(t) }]));
  server = await startServer({
    '/att_faces.zip': { data: attZip },
    '/flaky/att_faces.zip': { data: attZip, truncateFirst: 1 },
    '/corrupt/att_faces.zip': { data: attZip, corrupt: true },
    '/short/att_faces.zip': { data: attZip.subarray(0, attZip.length - 40) },
    '/lfw/lfw-deepfunneled.tgz': { data: lfwTgz },
    ...protocol,
  });
});
after(async () => {
  await server.close();
  tmp.cleanup();
});

const attCfg = (source: object): DatasetConfig =>
  datasetSchema.parse({ name: 'att', source, split: { kind: 'att-subjects', folds: 2 } });
const newRoot = () => path.join(tmp.dir, `root${n++}`);

void test('downloads att_faces.zip (resuming a dropped connection), checks it, unpacks it and builds the cache', async () => {
  const root = newRoot();
  const cfg = attCfg({ url: `${server.url}/flaky/att_faces.zip`, sha256: sha(attZip) });
  const phases: string[] = [];
  const p = await prepareDataset(cfg, pre, { projectRoot: root, download: fast, onProgress: (_d, _t, ph) => phases.push(ph) });
  assert.deepEqual([p.identities, p.images, p.height, p.width], [2, 4, 4, 4]);
  assert.ok(phases.includes('download') && phases.includes('unpack'));
  assert.deepEqual(readdirSync(path.join(root, '.cache/downloads')).sort(), ['att_faces', 'att_faces.zip']);
  // A second run finds the unpacked folder and asks the server for nothing.
  const before = server.log.length;
  const again = await prepareDataset(cfg, pre, { projectRoot: root, download: fast });
  assert.equal(again.built, false);
  assert.equal(server.log.length, before);
});

void test('a corrupted download is refused by its checksum: no archive and no unpacked folder remain', async () => {
  const root = newRoot();
  const cfg = attCfg({ url: `${server.url}/corrupt/att_faces.zip`, sha256: sha(attZip) });
  await assert.rejects(prepareDataset(cfg, pre, { projectRoot: root, download: fast }), /checksum mismatch/);
  assert.deepEqual(readdirSync(path.join(root, '.cache/downloads')), []);
});

void test('a corrupted archive without a checksum fails at unpacking, naming it, and leaves no unpacked folder', async () => {
  const root = newRoot();
  const cfg = attCfg({ url: `${server.url}/corrupt/att_faces.zip` });
  await assert.rejects(prepareDataset(cfg, pre, { projectRoot: root, download: fast }), (err: unknown) => {
    assert.ok(err instanceof DatasetError);
    assert.match(err.message, /att_faces\.zip: damaged or not a zip archive/);
    return true;
  });
  assert.deepEqual(readdirSync(path.join(root, '.cache/downloads')), ['att_faces.zip']);
});

void test('a truncated archive served as if whole (no checksum configured) is refused at unpacking', async () => {
  const root = newRoot();
  const cfg = attCfg({ url: `${server.url}/short/att_faces.zip` });
  await assert.rejects(prepareDataset(cfg, pre, { projectRoot: root, download: fast }), /att_faces\.zip: damaged or not a zip archive: no end-of-central-directory record \(truncated\?\)/);
  assert.equal(existsSync(path.join(root, '.cache/downloads/att_faces')), false);
  assert.equal(existsSync(path.join(root, '.cache/preprocessed')), false);
});

void test('offline: the error says where it looked, what it tried, and what to put where', async () => {
  const root = newRoot();
  const cfg = attCfg({ url: 'http://127.0.0.1:9/att_faces.zip' });
  await assert.rejects(resolveSource(cfg, { projectRoot: root, download: { retries: 0, backoffMs: 1 } }), (err: unknown) => {
    assert.ok(err instanceof DatasetError);
    const dl = path.join(root, '.cache/downloads');
    assert.ok(err.message.startsWith(`AT&T dataset not found: looked for the unpacked folder ${dl}/att_faces and the archive ${dl}/att_faces.zip`), err.message);
    assert.ok(err.message.includes('tried to download http://127.0.0.1:9/att_faces.zip'));
    assert.ok(err.message.includes(`Either put att_faces.zip at ${dl}/att_faces.zip, or set dataset.source.dir to a folder that holds the subject folders s1..s40`));
    assert.equal(err.retryable, true);
    return true;
  });
});

void test('a local archive (dataset.source.archive) is unpacked without any download', async () => {
  const root = newRoot();
  mkdirSync(root, { recursive: true });
  writeFileSync(path.join(root, 'my.zip'), attZip);
  const dir = await resolveSource(attCfg({ archive: 'my.zip', url: 'http://127.0.0.1:9/never' }), { projectRoot: root });
  assert.equal(dir, path.join(root, '.cache/downloads/att_faces/att_faces'));
  assert.ok(existsSync(path.join(dir, 's2/2.pgm')));
  await assert.rejects(resolveSource(attCfg({ archive: 'gone.zip' }), { projectRoot: newRoot() }), /gone\.zip does not exist; put att_faces\.zip there/);
  const other = newRoot();
  mkdirSync(other, { recursive: true });
  writeFileSync(path.join(other, 'my.zip'), attZip);
  await assert.rejects(
    resolveSource(attCfg({ archive: 'my.zip', sha256: '0'.repeat(64) }), { projectRoot: other }),
    /my\.zip: SHA-256 is [0-9a-f]{64}, expected 0{64} \(dataset\.source\.sha256\)/,
  );
  assert.equal(existsSync(path.join(other, '.cache/downloads/att_faces')), false);
});

void test('LFW: downloads the .tgz and the protocol files, unpacks, indexes and caches all images', async () => {
  const root = newRoot();
  const cfg = datasetSchema.parse({
    name: 'lfw',
    source: { url: `${server.url}/lfw/lfw-deepfunneled.tgz`, protocolUrl: `${server.url}/lfw/` },
    split: { kind: 'lfw' },
  });
  const p = await prepareDataset(cfg, preprocessSchema.parse({ channels: 3, centerCrop: { height: 8, width: 6 } }), {
    projectRoot: root,
    download: fast,
  });
  assert.deepEqual([p.identities, p.images, p.height, p.width, p.channels], [4, 8, 8, 6, 3]);
  assert.deepEqual(readdirSync(path.join(p.cachePath, 'protocol')).sort(), Object.keys(LFW_FIXTURE_PROTOCOL).sort());
  rmSync(path.join(root, '.cache/downloads/lfw'), { recursive: true });
});

void test('LFW: a protocol file that cannot be found or downloaded is named, and nothing is left unpacked', async () => {
  const root = newRoot();
  const cfg = datasetSchema.parse({
    name: 'lfw',
    source: { url: `${server.url}/lfw/lfw-deepfunneled.tgz`, protocolUrl: `${server.url}/nothing-here/` },
    split: { kind: 'lfw' },
  });
  await assert.rejects(resolveSource(cfg, { projectRoot: root, download: fast }), /LFW protocol file pairs\.txt not found in .* and its download failed \(.*HTTP 404/);
  assert.deepEqual(readdirSync(path.join(root, '.cache/downloads')), ['lfw-deepfunneled.tgz']);
});
