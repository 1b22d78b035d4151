import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../../src/config/load';
import { localCandidates, withLocalSource } from '../../src/pipeline/data';

const config = (source: Record<string, string> = {}) =>
  validateConfig({
    name: 't',
    dataset: { name: 'att', source, split: { kind: 'att-subjects' } },
    preprocess: { channels: 1 },
    training: { epochs: 1 },
  }).dataset;

test('a local copy is used when the config names no source: $FACENET_DATASETS_DIR first', () => {
  const root = mkdtempSync(join(tmpdir(), 'ds-'));
  const project = join(root, 'project');
  mkdirSync(join(root, 'mine', 'att_faces'), { recursive: true });
  mkdirSync(join(root, 'shared', 'datasets', 'att_faces'), { recursive: true });
  const env = { FACENET_DATASETS_DIR: join(root, 'mine') };
  assert.deepEqual(localCandidates(config(), project, env), [join(root, 'mine', 'att_faces'), join(project, 'datasets', 'att_faces'), join(root, 'shared', 'datasets', 'att_faces')]);
  assert.equal(withLocalSource(config(), project, env).source.dir, join(root, 'mine', 'att_faces'));
  assert.equal(withLocalSource(config(), project, {}).source.dir, join(root, 'shared', 'datasets', 'att_faces'));
});

test('an explicit source in the config is left alone, and nothing found means download', () => {
  const root = mkdtempSync(join(tmpdir(), 'ds-'));
  assert.equal(withLocalSource(config({ archive: '/data/att_faces.zip' }), root, {}).source.dir, undefined);
  assert.equal(withLocalSource(config(), join(root, 'p'), {}).source.dir, undefined);
});
