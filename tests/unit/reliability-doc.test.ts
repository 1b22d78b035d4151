// docs/reliability.md cites a test for every case: each cited file must exist and hold each cited test title.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

const root = join(__dirname, '..', '..');
const doc = readFileSync(join(root, 'docs', 'reliability.md'), 'utf8');

/** [file, title] pairs from the "How it is tested" column: `file` "title"; "title"; `file` "title". */
function citations(): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const rows = doc.split('\n').filter((line) => line.startsWith('| ') && line.includes('`tests/'));
  for (const row of rows) {
    const cell = row.split(' | ')[1] ?? '';
    let file = '';
    for (const m of cell.matchAll(/`(tests\/[^`]+)`|"((?:[^"\\]|\\.)*)"/g)) {
      if (m[1]) file = m[1];
      else out.push([file, (m[2] as string).replace(/\\"/g, '"')]);
    }
  }
  return out;
}

test('every test cited by docs/reliability.md exists, by file and title', () => {
  const cited = citations();
  assert.ok(cited.length >= 30, `only ${cited.length} citations parsed`);
  for (const [file, title] of cited) {
    assert.ok(existsSync(join(root, file)), `${file} (cited for "${title}") does not exist`);
    assert.ok(readFileSync(join(root, file), 'utf8').includes(title), `${file} has no test titled "${title}..."`);
  }
});
