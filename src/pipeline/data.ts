// Step 2: the preprocessed dataset cache of a run (built once, shared by runs with the same options).
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { DatasetConfig } from '../config/schema';
import { DatasetError, prepareDataset, DATASET_SOURCES, type PreparedDataset } from '../data';
import { readRunConfig, runPaths } from '../run/run-dir';
import { checkRunDataset } from '../run/run-record';
import { writeJsonAtomic } from '../util/durable-fs';

export interface ProgressFn {
  (details: Record<string, unknown>): void;
}

/**
 * Local copies are preferred to a download: with no source.dir or source.archive in the config, a folder
 * named like the unpacked dataset in $FACENET_DATASETS_DIR, <project>/datasets or <project>/../shared/datasets
 * is used when it exists.
 */
export function localCandidates(cfg: DatasetConfig, projectRoot: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const folder = DATASET_SOURCES[cfg.name].unpackedName;
  const roots = [env['FACENET_DATASETS_DIR'], join(projectRoot, 'datasets'), join(projectRoot, '..', 'shared', 'datasets')];
  return roots.filter((r): r is string => Boolean(r)).map((root) => resolve(root, folder));
}

export function withLocalSource(cfg: DatasetConfig, projectRoot: string, env: NodeJS.ProcessEnv = process.env): DatasetConfig {
  if (cfg.source.dir || cfg.source.archive) return cfg;
  const found = localCandidates(cfg, projectRoot, env).find((candidate) => existsSync(candidate));
  return found ? { ...cfg, source: { ...cfg.source, dir: found } } : cfg;
}

export async function prepareRunData(runDir: string, projectRoot: string, opts: { onProgress?: ProgressFn; env?: NodeJS.ProcessEnv } = {}): Promise<PreparedDataset> {
  const config = readRunConfig(runDir);
  const dataset = withLocalSource(config.dataset, projectRoot, opts.env);
  let prepared: PreparedDataset;
  try {
    prepared = await prepareDataset(dataset, config.preprocess, {
      projectRoot,
      onProgress: (done, total, phase) => opts.onProgress?.({ phase, done, total }),
      // Checked before the cache is built and before anything of the run is overwritten: a resumed run must not mix two datasets.
      checkFingerprint: (d) => checkRunDataset(runDir, d, config.resume.allowDatasetChange),
    });
  } catch (err) {
    if (err instanceof DatasetError && dataset === config.dataset && !config.dataset.source.dir && !config.dataset.source.archive) {
      err.message += ` No local copy was found either in: ${localCandidates(config.dataset, projectRoot, opts.env).join(', ')}.`;
    }
    throw err;
  }
  writeJsonAtomic(runPaths(runDir).dataset, { ...prepared, source: dataset.source });
  return prepared;
}
