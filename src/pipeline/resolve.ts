// Step 1 of a run: a validated config and its run directory.
import { resolve } from 'node:path';
import { ConfigError, applyOverrides, loadConfig, validateConfig, workerConfigPolicy } from '../config/load';
import { describeLoss } from '../config/describe-loss';
import type { RunConfig } from '../config/schema';
import { openRunDir } from '../run/run-dir';

export interface RunRequest {
  configPath?: string;
  config?: Record<string, unknown>;
  overrides?: string[];
  runId: string;
}

export interface RunPlan {
  runId: string;
  runDir: string;
  configName: string;
  dataset: 'att' | 'lfw';
  epochs: number;
  evalEvery: number;
  backend: string;
  summary: string;
}

/**
 * The run's config, as a worker reads it: a configPath must lie under the project root or a folder of
 * FACENET_CONFIG_DIRS (FACENET_ALLOW_ANY_CONFIG_PATH=1 lifts that), checked before the file is read.
 */
export function configFromRequest(request: Omit<RunRequest, 'runId'>, projectRoot: string, env: NodeJS.ProcessEnv = process.env): RunConfig {
  if (request.configPath && request.config) throw new ConfigError('Give either configPath or config, not both.');
  if (request.configPath) return loadConfig(resolve(projectRoot, request.configPath), request.overrides ?? [], workerConfigPolicy(projectRoot, env));
  if (request.config) return validateConfig(applyOverrides(request.config as never, request.overrides ?? []), 'inline config');
  throw new ConfigError('A run needs a config: pass configPath (e.g. "configs/smoke.yml") or an inline config object.');
}

export function describeConfig(c: RunConfig): string {
  const m = c.model;
  return (
    `${c.name}: ${c.dataset.name} ${c.preprocess.channels}ch` +
    ` ${m.architecture}[${m.widths.join(',')}] ${m.embeddingDim}-d, ${describeLoss(c.loss)},` +
    ` ${c.optimizer.name} lr ${c.optimizer.learningRate}, ${c.training.epochs} epochs`
  );
}

export function resolveRun(request: RunRequest, projectRoot: string, env: NodeJS.ProcessEnv = process.env): RunPlan {
  const config = configFromRequest(request, projectRoot, env);
  const paths = openRunDir(resolve(projectRoot, config.runsDir), request.runId, config);
  return {
    runId: request.runId,
    runDir: paths.root,
    configName: config.name,
    dataset: config.dataset.name,
    epochs: config.training.epochs,
    evalEvery: config.evaluation.every,
    backend: config.backend,
    summary: describeConfig(config),
  };
}
