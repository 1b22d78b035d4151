// A run is a directory: runs/<run-id>/ holds the resolved config, checkpoints, metrics log,
// evaluation results, plots, report and exported model. Every path of a run is named here.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createHash } from 'node:crypto';
import type { RunConfig } from '../config/schema';
import { validateConfig } from '../config/load';
import { writeJsonAtomic } from '../util/durable-fs';
import { BadInputError } from '../errors';
import { strictlyInsideDir } from '../util/paths';

export interface RunPaths {
  root: string;
  config: string;
  metrics: string;
  checkpoints: string;
  evalDir: string;
  plots: string;
  report: string;
  exported: string;
  dataset: string;
  /** What the run was trained with (dataset fingerprint, backend), checked on resume: src/run/run-record.ts. */
  record: string;
}

export function runPaths(runDir: string): RunPaths {
  const root = resolve(runDir);
  // Each one checked: a symlink planted in a run (model -> elsewhere) must not redirect a write.
  return {
    root,
    config: runFile(root, 'config.json'),
    metrics: runFile(root, 'metrics.csv'),
    checkpoints: runFile(root, 'checkpoints'),
    evalDir: runFile(root, 'eval'),
    plots: runFile(root, 'plots'),
    report: runFile(root, 'report.html'),
    exported: runFile(root, 'model'),
    dataset: runFile(root, 'dataset.json'),
    record: runFile(root, 'run-record.json'),
  };
}

/** The hash that ties a run to its config; the `resume` section (what a resume may accept) is left out. */
export function configHash(config: RunConfig): string {
  const { resume: _resume, ...pinned } = config;
  return createHash('sha256').update(JSON.stringify(pinned)).digest('hex').slice(0, 16);
}

export class RunConflictError extends BadInputError {}

/** A run id names a folder directly under runsDir: letters, digits, dot, dash, underscore; not starting with a dot. */
const RUN_ID_RE = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$/;

export class RunIdError extends BadInputError {}

/** Throws a RunIdError naming the rule when `runId` cannot name a run folder (the CLI checks before starting). */
export function checkRunId(runId: string): void {
  if (!RUN_ID_RE.test(runId)) {
    throw new RunIdError(
      `Run id "${runId}" is refused: a run id may hold only letters, digits, dot, dash and underscore, may not start ` +
        'with a dot (so ".", ".." and hidden names are out) and has at most 200 characters.',
    );
  }
}

/**
 * The folder of run `runId` under `runsDir`. Refuses an id that is `.`, `..`, hidden, holds a path
 * separator, or otherwise resolves anywhere but a folder strictly inside runsDir (a symlink included).
 */
export function runDirFor(runsDir: string, runId: string): string {
  checkRunId(runId);
  const dir = resolve(runsDir, runId);
  if (!strictlyInsideDir(runsDir, dir) || resolve(dir, '..') !== resolve(runsDir)) {
    throw new RunIdError(`Run id "${runId}" resolves to ${dir}, outside runsDir ${resolve(runsDir)}; choose another run id.`);
  }
  return dir;
}

/** `rel` inside the run directory; throws when it would land anywhere else (a write must never leave its run). */
export function runFile(runDir: string, rel: string): string {
  const file = resolve(runDir, rel);
  if (!strictlyInsideDir(runDir, file)) throw new RunIdError(`${rel} resolves to ${file}, outside the run directory ${resolve(runDir)}.`);
  return file;
}

/**
 * Creates runs/<id>/ with its resolved config, or reopens it. Reopening with a different config is refused:
 * a run's checkpoints only make sense with the config that produced them.
 */
export function openRunDir(runsDir: string, runId: string, config: RunConfig): RunPaths {
  const paths = runPaths(runDirFor(runsDir, runId));
  mkdirSync(paths.root, { recursive: true });
  if (existsSync(paths.config)) {
    const existing = readRunConfig(paths.root);
    if (configHash(existing) !== configHash(config)) {
      throw new RunConflictError(
        `${paths.root} already holds a run with a different config (${paths.config}). ` +
          'Choose another run id, or delete that directory to start over.',
      );
    }
    // The resume section applies to this attempt: stored so the activities that read the run's config see it.
    if (JSON.stringify(existing.resume) !== JSON.stringify(config.resume)) writeJsonAtomic(paths.config, config);
    return paths;
  }
  writeJsonAtomic(paths.config, config);
  return paths;
}

export function readRunConfig(runDir: string): RunConfig {
  const path = runPaths(runDir).config;
  if (!existsSync(path)) throw new BadInputError(`${path} is missing: ${runDir} is not a run directory.`);
  return validateConfig(JSON.parse(readFileSync(path, 'utf8')), path);
}
