// Run ids and config paths: a worker writes only inside its run directory and reads configs only
// from its project root and configured folders (unless allowed), each refusal naming the rule.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/load';
import { BadInputError } from '../../src/errors';
import { configFromRequest, resolveRun } from '../../src/pipeline/resolve';
import { RunIdError, runDirFor, runFile, runPaths } from '../../src/run/run-dir';
import { insideDir } from '../../src/util/paths';

const projectRoot = join(__dirname, '..', '..');

function sandbox(): string {
  return mkdtempSync(join(tmpdir(), 'facenet-paths-'));
}

test('insideDir resolves .. and symlinks', () => {
  const dir = sandbox();
  mkdirSync(join(dir, 'runs', 'a'), { recursive: true });
  mkdirSync(join(dir, 'victim'));
  symlinkSync(join(dir, 'victim'), join(dir, 'runs', 'link'));
  assert.equal(insideDir(join(dir, 'runs'), join(dir, 'runs', 'a', 'model')), true);
  assert.equal(insideDir(join(dir, 'runs'), join(dir, 'runs', '..', 'victim')), false);
  assert.equal(insideDir(join(dir, 'runs'), join(dir, 'runs', 'link', 'model')), false);
  assert.equal(insideDir(join(dir, 'runs'), join(dir, 'runs-2')), false);
  assert.equal(insideDir(join(dir, 'runs'), join(dir, 'runs', '..runs')), true, 'a name that starts with two dots is still inside');
});

test('run ids ".", "..", hidden, with separators or resolving outside runsDir are refused before anything is written', () => {
  const dir = sandbox();
  const runsDir = join(dir, 'victim', 'runs');
  for (const id of ['.', '..', '.hidden', 'a/b', '../x', '', 'a'.repeat(201)]) {
    assert.throws(() => runDirFor(runsDir, id), (err: unknown) => err instanceof RunIdError && err instanceof BadInputError && /may not start with a dot/.test(err.message), id);
  }
  mkdirSync(runsDir, { recursive: true });
  mkdirSync(join(dir, 'elsewhere'));
  symlinkSync(join(dir, 'elsewhere'), join(runsDir, 'planted'));
  assert.throws(() => runDirFor(runsDir, 'planted'), /resolves to .*planted, outside runsDir/);
  assert.equal(runDirFor(runsDir, 'smoke-2026-12-05T08-00-00.000Z'), join(runsDir, 'smoke-2026-12-05T08-00-00.000Z'));
  assert.throws(() => runFile(join(runsDir, 'r'), '../r2/model'), /outside the run directory/);
  // A symlinked file in a run cannot redirect a write either.
  mkdirSync(join(runsDir, 'r'));
  symlinkSync(join(dir, 'elsewhere'), join(runsDir, 'r', 'model'));
  assert.throws(() => runPaths(join(runsDir, 'r')), /model resolves to .* outside the run directory/);
});

test('resolveRun with run id ".." writes nothing (the data-loss case of issue 17)', () => {
  const dir = sandbox();
  const runsDir = join(dir, 'victim', 'runs');
  mkdirSync(join(dir, 'victim', 'model'), { recursive: true });
  writeFileSync(join(dir, 'victim', 'model', 'keep.txt'), 'user file');
  assert.throws(
    () => resolveRun({ configPath: 'configs/smoke.yml', overrides: [`runsDir=${runsDir}`], runId: '..' }, projectRoot),
    RunIdError,
  );
  assert.deepEqual(readdirSync(join(dir, 'victim')), ['model']);
  assert.equal(existsSync(join(dir, 'victim', 'model', 'keep.txt')), true);
});

test('a config path outside the project root is refused before it is read, naming the rule and the way out', () => {
  const outside = sandbox();
  writeFileSync(join(outside, 'x.yml'), 'name: x\n');
  for (const configPath of ['/etc/passwd', join(outside, 'x.yml'), '../../../etc/passwd']) {
    assert.throws(
      () => configFromRequest({ configPath }, projectRoot, {}),
      (err: unknown) =>
        err instanceof ConfigError &&
        /is outside the folders this worker reads configs from .*FACENET_CONFIG_DIRS.*FACENET_ALLOW_ANY_CONFIG_PATH=1/s.test(err.message) &&
        !/root:/.test(err.message),
      configPath,
    );
  }
  // A folder in FACENET_CONFIG_DIRS is allowed; FACENET_ALLOW_ANY_CONFIG_PATH=1 allows anything (then the
  // usual validation speaks).
  assert.throws(() => configFromRequest({ configPath: join(outside, 'x.yml') }, projectRoot, { FACENET_CONFIG_DIRS: outside }), /Invalid .*x\.yml/);
  assert.throws(() => configFromRequest({ configPath: join(outside, 'x.yml') }, projectRoot, { FACENET_ALLOW_ANY_CONFIG_PATH: '1' }), /Invalid .*x\.yml/);
  assert.equal(configFromRequest({ configPath: 'configs/smoke.yml' }, projectRoot, {}).name, 'smoke');
});

test('an extends: that leaves the allowed folders is refused too, naming the file that extends', () => {
  const inside = mkdtempSync(join(projectRoot, '.tmp-test-cfg-'));
  try {
    writeFileSync(join(inside, 'child.yml'), 'extends: /etc/passwd\nname: c\n');
    assert.throws(() => configFromRequest({ configPath: join(inside, 'child.yml') }, projectRoot, {}), /Config path \/etc\/passwd \(named by extends: in .*child\.yml\) is outside/);
  } finally {
    rmSync(inside, { recursive: true, force: true });
  }
});

test('extends: to a missing file names the file that extends it', () => {
  const dir = sandbox();
  writeFileSync(join(dir, 'child.yml'), 'extends: base.yml\nname: c\n');
  assert.throws(() => loadConfig(join(dir, 'child.yml')), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, new RegExp(`Config file not found: ${join(dir, 'base.yml')}, named by extends: in ${join(dir, 'child.yml')}`));
    return true;
  });
});
