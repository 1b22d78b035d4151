import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { downloadFile } from '../../src/data/download';
import { DatasetError } from '../../src/data/errors';
import { startServer, type TestServer } from '../fixtures/http-server';
import { tempDir } from '../fixtures/data-fixtures';

const tmp = tempDir();
const body = Buffer.from(Array.from({ length: 100_000 }, (_, i) => (i * 31) % 251));
const sha = createHash('sha256').update(body).digest('hex');
let server: TestServer;
let n = 0;
const dest = () => path.join(tmp.dir, `d${n++}`, 'archive.zip');
const fast = { retries: 3, backoffMs: 5 };

before(async () => {
  server = await startServer({
    '/ok.zip': { data: body },
    '/flaky.zip': { data: body, truncateFirst: 1 },
    '/flaky-norange.zip': { data: body, truncateFirst: 1, noRange: true },
    '/corrupt.zip': { data: body, corrupt: true },
    '/dead.zip': { data: body, alwaysTruncate: true },
  });
});
after(async () => {
  await server.close();
  tmp.cleanup();
});

void test('downloads, checks the SHA-256 and reports progress up to the full size', async () => {
  const progress: Array<[number, number | null]> = [];
  const d = dest();
  const r = await downloadFile(`${server.url}/ok.zip`, d, { sha256: sha, ...fast, onProgress: (a, b) => progress.push([a, b]) });
  assert.equal(r.sha256, sha);
  assert.equal(r.bytes, 100_000);
  assert.deepEqual(readFileSync(d), body);
  assert.deepEqual(progress.at(-1), [100_000, 100_000]);
  assert.deepEqual(readdirSync(path.dirname(d)), ['archive.zip']);
});

void test('a dropped connection is resumed with an HTTP Range request from the bytes already received', async () => {
  const d = dest();
  const before = server.log.length;
  await downloadFile(`${server.url}/flaky.zip`, d, { sha256: sha, ...fast });
  assert.deepEqual(readFileSync(d), body);
  const reqs = server.log.slice(before);
  assert.equal(reqs.length, 2);
  assert.equal(reqs[0], 'GET /flaky.zip -');
  assert.match(reqs[1] as string, /^GET \/flaky\.zip bytes=(\d+)-$/);
  const offset = Number(/bytes=(\d+)-/.exec(reqs[1] as string)?.[1]);
  assert.ok(offset > 0 && offset < 100_000, `resumed at ${offset}`);
});

void test('a server that ignores Range gets the whole file again (200), not appended twice', async () => {
  const d = dest();
  await downloadFile(`${server.url}/flaky-norange.zip`, d, { sha256: sha, ...fast });
  assert.deepEqual(readFileSync(d), body);
});

void test('a corrupted download fails the checksum: clear error, nothing left behind', async () => {
  const d = dest();
  await assert.rejects(downloadFile(`${server.url}/corrupt.zip`, d, { sha256: sha, ...fast }), (err: unknown) => {
    assert.ok(err instanceof DatasetError);
    assert.equal(err.retryable, false);
    assert.match(err.message, new RegExp(`checksum mismatch for ${server.url}/corrupt\\.zip: SHA-256 [0-9a-f]{64}, expected ${sha}`));
    return true;
  });
  assert.equal(existsSync(d), false);
  assert.equal(existsSync(`${d}.part`), false);
});

void test('a connection that always drops gives up after the retries, leaving only the .part (never the archive)', async () => {
  const d = dest();
  const before = server.log.length;
  await assert.rejects(downloadFile(`${server.url}/dead.zip`, d, { sha256: sha, ...fast }), (err: unknown) => {
    assert.ok(err instanceof DatasetError);
    assert.equal(err.retryable, true);
    assert.match(err.message, /failed after 4 attempt\(s\)/);
    return true;
  });
  assert.equal(server.log.length - before, 4);
  assert.equal(existsSync(d), false);
  // The .part is kept on purpose: the next run resumes from it.
  assert.ok(existsSync(`${d}.part`));
});

void test('HTTP 404 is not retried', async () => {
  const before = server.log.length;
  await assert.rejects(downloadFile(`${server.url}/missing.zip`, dest(), fast), /HTTP 404/);
  assert.equal(server.log.length - before, 1);
});

void test('an existing file is reused when its checksum matches and refused when it does not', async () => {
  const d = dest();
  await downloadFile(`${server.url}/ok.zip`, d, { sha256: sha, ...fast });
  const before = server.log.length;
  await downloadFile(`${server.url}/ok.zip`, d, { sha256: sha, ...fast });
  assert.equal(server.log.length, before, 'no second request');
  writeFileSync(d, 'tampered');
  await assert.rejects(downloadFile(`${server.url}/ok.zip`, d, { sha256: sha, ...fast }), /exists but its SHA-256 is .* expected/);
});
