// docs/configuration.md's reference is the schema's (regenerate it with scripts/config-reference.ts), and the
// README names the test command CI runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configReference } from '../../src/config/reference';

const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
const configDoc = readFileSync(join(__dirname, '..', '..', 'docs', 'configuration.md'), 'utf8');

test('the configuration reference in docs/configuration.md matches the schema', () => {
  const match = /<!-- config-reference:start[^>]*-->\n([\s\S]*?)<!-- config-reference:end -->/.exec(configDoc);
  assert.ok(match, 'docs/configuration.md lacks the config-reference markers');
  assert.equal(match[1]?.trimEnd(), configReference(), 'docs/configuration.md is out of date: run `npx tsx scripts/config-reference.ts` and paste its output between the markers');
});

test('the reference lists every leaf field, with the required ones marked', () => {
  const table = configReference();
  for (const field of ['name', 'dataset.name', 'preprocess.channels', 'training.epochs']) {
    const row = table.split('\n').find((line) => line.startsWith(`| \`${field}\` |`));
    assert.ok(row, `no row for ${field}`);
    assert.match(row, /\| \*\*required\*\* \|/);
  }
  assert.match(table, /\| `loss\.miner` \| "batch-all" \\\| "batch-hard" \\\| "semi-hard" \| `"batch-all"` \|/);
});

test('the README names the test command that CI runs', () => {
  assert.match(readme, /^npm test\s/m);
  assert.match(readFileSync(join(__dirname, '..', '..', '.ci', 'run'), 'utf8'), /^npm test$/m);
});
