import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, applyOverrides, loadConfig, validateConfig, readConfigTree } from '../../src/config/load';

const configsDir = join(__dirname, '..', '..', 'configs');

test('every shipped config validates', () => {
  const files = readdirSync(configsDir).filter((f) => f.endsWith('.yml'));
  assert.ok(files.length >= 5, `expected at least 5 configs, found ${files.join(', ')}`);
  for (const file of files) {
    const config = loadConfig(join(configsDir, file));
    assert.equal(config.name, file.replace(/\.yml$/, ''), `${file}: name should match the file name`);
  }
});

test('att.yml is faithful to the reference AT&T setup', () => {
  const c = loadConfig(join(configsDir, 'att.yml'));
  assert.deepEqual(c.preprocess.resize, { height: 224, width: 224 });
  assert.deepEqual(c.preprocess.normalize.mean, [0.4422]);
  assert.equal(c.loss.miner, 'batch-all');
  assert.equal(c.loss.margin, 1.0);
  assert.equal(c.optimizer.learningRate, 2e-4);
  assert.equal(c.model.embeddingDim, 64);
  assert.equal(c.sampler.batchSize, 100);
  assert.equal(c.evaluation.threshold, 'youden');
});

test('cpu configs inherit from the faithful ones and override only what they say', () => {
  const c = loadConfig(join(configsDir, 'lfw-cpu.yml'));
  assert.deepEqual(c.preprocess.centerCrop, { height: 128, width: 98 }); // inherited
  assert.equal(c.preprocess.resize, null); // overridden: native resolution
  assert.deepEqual(c.model.widths, [32, 64, 128, 256]);
  assert.equal(c.model.embeddingDim, 128); // inherited
  assert.equal(c.loss.miner, 'batch-all');
});

test('a wrong field gives an error naming the field, the value and what is allowed', () => {
  assert.throws(
    () => loadConfig(join(configsDir, 'smoke.yml'), ['loss.miner=hardest']),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /loss\.miner: .*"batch-all".*"batch-hard".*"semi-hard".*got "hardest"/);
      return true;
    },
  );
  assert.throws(() => loadConfig(join(configsDir, 'smoke.yml'), ['training.epochs=-2']), /training\.epochs: .*got -2/);
});

test('an unknown key is an error that lists the allowed keys', () => {
  assert.throws(
    () => loadConfig(join(configsDir, 'smoke.yml'), ['optimizer.learningrate=0.1']),
    /optimizer: unknown key\(s\) "learningrate"; allowed keys here: name, learningRate/,
  );
});

test('every problem is reported at once', () => {
  try {
    validateConfig({ name: 'bad name', dataset: { name: 'att' } });
    assert.fail('expected a ConfigError');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    const fields = err.issues.map((i) => i.split(':')[0]);
    assert.ok(fields.includes('name'), fields.join());
    assert.ok(fields.includes('dataset.split'), fields.join());
    assert.ok(fields.includes('preprocess'), fields.join());
    assert.ok(fields.includes('training'), fields.join());
  }
});

test('overrides parse YAML values and replace arrays whole', () => {
  const out = applyOverrides({ model: { widths: [1, 2, 3, 4], stem: 'light' } }, ['model.widths=[8, 16, 32, 64]', 'training.epochs=5']);
  assert.deepEqual(out, { model: { widths: [8, 16, 32, 64], stem: 'light' }, training: { epochs: 5 } });
  assert.throws(() => applyOverrides({}, ['training.epochs']), /must look like path\.to\.field=value/);
});

test('a missing file, bad YAML and an extends cycle each say what is wrong', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
  assert.throws(() => loadConfig(join(dir, 'nope.yml')), /Config file not found: .*nope\.yml/);
  writeFileSync(join(dir, 'bad.yml'), 'name: [unclosed');
  assert.throws(() => loadConfig(join(dir, 'bad.yml')), /bad\.yml is not valid YAML/);
  writeFileSync(join(dir, 'a.yml'), 'extends: b.yml\n');
  writeFileSync(join(dir, 'b.yml'), 'extends: a.yml\n');
  assert.throws(() => readConfigTree(join(dir, 'a.yml')), /extends itself/);
});

test('export.checkpoint best-validation without a validation set is refused, naming what to set', () => {
  const smoke = join(configsDir, 'smoke.yml');
  assert.throws(
    () => loadConfig(smoke, ['export.checkpoint=best-validation']),
    (err: unknown) => err instanceof ConfigError && /export\.checkpoint: best-validation needs a validation set: set dataset\.validationIdentities/s.test(err.message),
  );
  const ok = loadConfig(smoke, ['export.checkpoint=best-validation', 'dataset.validationIdentities=3']);
  assert.equal(ok.export.checkpoint, 'best-validation');
});
