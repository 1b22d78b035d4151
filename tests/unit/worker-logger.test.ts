// The CLI's in-process worker log: everything to the file, only what a user can act on to the terminal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileLogger } from '../../temporal/logger';

test('fileLogger: an expired progress query or workflow task goes to the file only; other warnings also to the terminal', () => {
  const dir = mkdtempSync(join(tmpdir(), 'worker-log-'));
  try {
    const file = join(dir, 'logs', 'worker.log');
    const shown: string[] = [];
    const logger = fileLogger(file, (line) => shown.push(line));
    logger.warn('Query not found when attempting to respond to it', { sdkComponent: 'core' });
    logger.warn('Task not found when completing', { sdkComponent: 'core' });
    logger.warn('No activities registered, not polling for activity tasks');
    logger.info('Worker state changed');
    logger.warn('Workflow task timed out', { sdkComponent: 'core' });
    const written = readFileSync(file, 'utf8').trim().split('\n');
    assert.equal(written.length, 4);
    assert.match(written[0]!, /\[WARN\] Query not found when attempting to respond to it \{ sdkComponent: 'core' \}$/);
    assert.match(written[2]!, /\[INFO\] Worker state changed/);
    assert.deepEqual(shown, [`worker warn: Workflow task timed out (details in ${file})`]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
