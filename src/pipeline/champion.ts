// Scheduled retraining keeps a champion: the best model so far on the fixed evaluation protocol,
// with the dataset manifest it was trained on. A challenger replaces it only when strictly better.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { cp } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { contentFingerprint, fingerprintCacheFile, indexAtt, indexLfw, resolveSource } from '../data';
import { writeDirAtomic, writeJsonAtomic } from '../util/durable-fs';
import { strictlyInsideDir } from '../util/paths';
import { BadInputError } from '../errors';
import { readRunConfig, runPaths } from '../run/run-dir';
import { configFromRequest, type RunRequest } from './resolve';
import { withLocalSource } from './data';
import { SIDECAR_JSON } from '../train';
import { readSidecar } from '../infer';

export interface ChampionRecord {
  runId: string;
  runDir: string;
  modelDir: string;
  manifestHash: string;
  accuracy: number;
  auc: number;
  promotedAt: string;
}

const CHAMPION_FILE = 'champion.json';

/** The content fingerprint of the dataset a config points at (SHA-256 of every file, cached by stat), without preprocessing. */
export async function datasetFingerprint(request: Omit<RunRequest, 'runId'>, projectRoot: string): Promise<{ manifestHash: string; configName: string }> {
  const config = configFromRequest(request, projectRoot);
  const cfg = withLocalSource(config.dataset, projectRoot);
  const root = await resolveSource(cfg, { projectRoot });
  const index = cfg.name === 'att' ? await indexAtt(root) : await indexLfw(root);
  const cacheFile = fingerprintCacheFile(resolve(projectRoot, cfg.cacheDir), cfg.name, root);
  return { manifestHash: (await contentFingerprint(index, { cacheFile })).hash, configName: config.name };
}

export function readChampion(championDir: string, projectRoot: string): ChampionRecord | null {
  const file = join(resolve(projectRoot, championDir), CHAMPION_FILE);
  if (!existsSync(file)) return null;
  return JSON.parse(readFileSync(file, 'utf8')) as ChampionRecord;
}

/** Copies the run's exported model into the champion folder (whole or not at all) and records it with its own test figures. */
export async function promoteChampion(championDir: string, runDir: string, manifest: string, projectRoot: string): Promise<ChampionRecord> {
  const dir = resolve(projectRoot, championDir);
  const paths = runPaths(runDir);
  readRunConfig(runDir); // refuses a folder that is not a run
  if (!existsSync(paths.exported)) throw new BadInputError(`${paths.exported} is missing; export the run's model before promoting it.`);
  // The figures of the exported checkpoint (its sidecar), not the run's last evaluation: with export.checkpoint
  // best-validation they are another epoch's.
  const { metrics } = await readSidecar(paths.exported);
  const accuracy = metrics['testAccuracy'];
  const auc = metrics['testAuc'];
  if (accuracy === undefined || auc === undefined) {
    throw new BadInputError(`${join(paths.exported, SIDECAR_JSON)} has no test figures: only a model whose checkpoint was evaluated can become the champion.`);
  }
  // A new folder per champion, and champion.json switched to it last: a crash at any point leaves the
  // previous champion whole and named.
  const runId = basename(paths.root);
  const previous = readChampion(championDir, projectRoot);
  const modelDir = join(dir, `model-${runId}`);
  await writeDirAtomic(dir, basename(modelDir), (tmp) => cp(paths.exported, tmp, { recursive: true }));
  const record: ChampionRecord = {
    runId,
    runDir: paths.root,
    modelDir,
    manifestHash: manifest,
    accuracy,
    auc,
    promotedAt: new Date().toISOString(),
  };
  writeJsonAtomic(join(dir, CHAMPION_FILE), record);
  // champion.json is a file a user can edit: only a folder of the champion directory is ever deleted.
  if (previous && previous.modelDir !== modelDir && strictlyInsideDir(dir, previous.modelDir)) rmSync(previous.modelDir, { recursive: true, force: true });
  return record;
}
