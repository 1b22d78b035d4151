// Step 2: the preprocessed dataset cache of a run (built once, shared by runs with the same options).
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { DatasetConfig } from '../config/schema';
import { prepareDataset, DATASET_SOURCES, type PreparedDataset } from '../data';
import { readRunConfig, runPaths } from '../run/run-dir';
import { writeJsonAtomic } from '../run/atomic-write';

export interface ProgressFn {
  (details: Record<string, unknown>): void;
}

/**
 * Local copies are preferred to a download: with no source.dir or source.archive in the config, a folder
 * named like the unpacked dataset in $FACENET_DATASETS_DIR, <project>/datasets or <project>/../shared/datasets
 * is used when it exists.
 */
export function withLocalSource(cfg: DatasetConfig, projectRoot: string, env: NodeJS.ProcessEnv = process.env): DatasetConfig {
  if (cfg.source.dir || cfg.source.archive) return cfg;
  const folder = DATASET_SOURCES[cfg.name].unpackedName;
  const roots = [env['FACENET_DATASETS_DIR'], join(projectRoot, 'datasets'), join(projectRoot, '..', 'shared', 'datasets')];
  for (const root of roots) {
    if (!root) continue;
    const candidate = resolve(root, folder);
    if (existsSync(candidate)) return { ...cfg, source: { ...cfg.source, dir: candidate } };
  }
  return cfg;
}

export async function prepareRunData(runDir: string, projectRoot: string, opts: { onProgress?: ProgressFn } = {}): Promise<PreparedDataset> {
  const config = readRunConfig(runDir);
  const dataset = withLocalSource(config.dataset, projectRoot);
  const prepared = await prepareDataset(dataset, config.preprocess, {
    projectRoot,
    onProgress: (done, total, phase) => opts.onProgress?.({ phase, done, total }),
  });
  writeJsonAtomic(runPaths(runDir).dataset, { ...prepared, source: dataset.source });
  return prepared;
}
