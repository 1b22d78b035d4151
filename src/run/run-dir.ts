// A run is a directory: runs/<run-id>/ holds the resolved config, checkpoints, metrics log,
// evaluation results, plots, report and exported model. Every path of a run is named here.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createHash } from 'node:crypto';
import type { RunConfig } from '../config/schema';
import { validateConfig } from '../config/load';
import { writeJsonAtomic } from '../util/durable-fs';

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
}

export function runPaths(runDir: string): RunPaths {
  const root = resolve(runDir);
  return {
    root,
    config: join(root, 'config.json'),
    metrics: join(root, 'metrics.csv'),
    checkpoints: join(root, 'checkpoints'),
    evalDir: join(root, 'eval'),
    plots: join(root, 'plots'),
    report: join(root, 'report.html'),
    exported: join(root, 'model'),
    dataset: join(root, 'dataset.json'),
  };
}

export function configHash(config: RunConfig): string {
  return createHash('sha256').update(JSON.stringify(config)).digest('hex').slice(0, 16);
}

export class RunConflictError extends Error {
  override readonly name = 'RunConflictError';
}

/**
 * Creates runs/<id>/ with its resolved config, or reopens it. Reopening with a different config is refused:
 * a run's checkpoints only make sense with the config that produced them.
 */
export function openRunDir(runsDir: string, runId: string, config: RunConfig): RunPaths {
  if (!/^[A-Za-z0-9._-]+$/.test(runId)) {
    throw new RunConflictError(`Run id "${runId}" may hold only letters, digits, dot, dash and underscore.`);
  }
  const paths = runPaths(join(runsDir, runId));
  mkdirSync(paths.root, { recursive: true });
  if (existsSync(paths.config)) {
    const existing = readRunConfig(paths.root);
    if (configHash(existing) !== configHash(config)) {
      throw new RunConflictError(
        `${paths.root} already holds a run with a different config (${paths.config}). ` +
          'Choose another run id, or delete that directory to start over.',
      );
    }
    return paths;
  }
  writeJsonAtomic(paths.config, config);
  return paths;
}

export function readRunConfig(runDir: string): RunConfig {
  const path = runPaths(runDir).config;
  if (!existsSync(path)) throw new Error(`${path} is missing: ${runDir} is not a run directory.`);
  return validateConfig(JSON.parse(readFileSync(path, 'utf8')), path);
}
