// The data side of an epoch: preprocessing (decode + crop into the cache's uint8 form), loading the
// preprocessed cache (each epoch activity does it), assembling float batches, and the LFW View-2
// evaluation from cached embeddings (6,000 pairs, 10 folds), which must stay well under a second.
import path from 'node:path';
import { loadConfig } from '../src/config/load';
import type { RunConfig } from '../src/config/schema';
import {
  assembleBatch,
  computeNormalization,
  indexAtt,
  indexLfw,
  loadCachedDataset,
  prepareDataset,
  preprocessImage,
  pixelOptions,
  resolveSplit,
  type CachedDataset,
} from '../src/data';
import { averageAndRenormalize, distancesForPairs, evaluateKFold } from '../src/eval';
import { Rng } from '../src/util/rng';
import { median, round, timeSteps, timeStepsAsync } from './measure';

/** The benchmark reads the shared local copies; a run config would name them in dataset.source.dir. */
export const DATASET_DIRS: Record<RunConfig['dataset']['name'], string> = {
  att: '../shared/datasets/att_faces',
  lfw: '../shared/datasets/lfw',
};

export interface PreprocessResult {
  dataset: string;
  images: number;
  seconds: number;
  imagesPerS: number;
  concurrency: number;
}

export interface CacheResult {
  dataset: string;
  cachePath: string;
  images: number;
  megabytes: number;
  /** The cache was absent and built in this run: its full build time (decode + crop + shards + checksums). */
  build: { seconds: number; imagesPerS: number } | null;
  /** loadCachedDataset, median of the timed loads: paid once per epoch activity. */
  loadS: number;
  loadTimesS: number[];
  loadMBPerS: number;
  trainImages: number;
  /** Float batches from the cache (normalise, flip, crop-pad), images/s. */
  assembleImagesPerS: number;
}

export interface PairEvalResult {
  pairs: number;
  folds: number;
  embeddingDim: number;
  /** Distances + 10-fold evaluation (thresholds, accuracy, AUC, TAR@FAR), median seconds. */
  medianS: number;
  /** The same with flip TTA (average + renormalise two embedding sets first). */
  flipTtaMedianS: number;
  underOneSecond: boolean;
}

function configFor(projectRoot: string, name: 'att-cpu' | 'lfw-cpu'): RunConfig {
  const cfg = loadConfig(path.join(projectRoot, 'configs', `${name}.yml`));
  cfg.dataset.source = { ...cfg.dataset.source, dir: DATASET_DIRS[cfg.dataset.name] };
  return cfg;
}

async function mapLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Decodes and crops `sample` images spread over the dataset, 4 in flight as the cache builder does. */
export async function benchPreprocess(projectRoot: string, name: 'att-cpu' | 'lfw-cpu', sample: number): Promise<PreprocessResult> {
  const cfg = configFor(projectRoot, name);
  const root = path.resolve(projectRoot, cfg.dataset.source.dir as string);
  const index = cfg.dataset.name === 'att' ? await indexAtt(root) : await indexLfw(root);
  const stride = Math.max(1, Math.floor(index.entries.length / sample));
  const files = index.entries.filter((_, i) => i % stride === 0).slice(0, sample).map((e) => path.join(index.root, e.relPath));
  const pixel = pixelOptions(cfg.preprocess);
  const concurrency = 4;
  await mapLimit(files.slice(0, 8), concurrency, async (f) => void (await preprocessImage(f, pixel))); // warm-up: sharp's first call
  const t0 = performance.now();
  await mapLimit(files, concurrency, async (f) => void (await preprocessImage(f, pixel)));
  const seconds = (performance.now() - t0) / 1000;
  return { dataset: name, images: files.length, seconds: round(seconds, 3), imagesPerS: round(files.length / seconds, 1), concurrency };
}

/** Prepares (builds when absent) and then times loading the config's cache; returns the loaded dataset too. */
export async function benchCache(
  projectRoot: string,
  name: 'att-cpu' | 'lfw-cpu',
  loads: number,
): Promise<{ result: CacheResult; dataset: CachedDataset; config: RunConfig }> {
  const cfg = configFor(projectRoot, name);
  const t0 = performance.now();
  const prepared = await prepareDataset(cfg.dataset, cfg.preprocess, { projectRoot });
  const prepS = (performance.now() - t0) / 1000;
  let dataset: CachedDataset | null = null;
  const run = await timeStepsAsync(
    async () => {
      dataset = null; // let the previous copy go before reading the next
      dataset = await loadCachedDataset(prepared.cachePath);
    },
    { warmup: 1, steps: loads, capSeconds: 30 },
  );
  const ds = dataset as unknown as CachedDataset;
  const split = await resolveSplit(ds, cfg.dataset);
  const norm = computeNormalization(ds, split.trainIndices, cfg.preprocess);
  const batch = cfg.sampler.kind === 'pk' ? cfg.sampler.identitiesPerBatch * cfg.sampler.imagesPerIdentity : cfg.sampler.batchSize;
  const rng = Rng.derive(cfg.training.seed, 0xbe7c);
  const pick = () => Array.from({ length: batch }, () => split.trainIndices[rng.int(split.trainIndices.length)] as number);
  const assemble = timeSteps(() => void assembleBatch(ds, pick(), cfg.preprocess, norm, rng), { warmup: 1, steps: 10, capSeconds: 5 });
  const mb = ds.pixels.byteLength / 1e6;
  return {
    result: {
      dataset: name,
      cachePath: path.relative(projectRoot, prepared.cachePath),
      images: prepared.images,
      megabytes: round(mb, 1),
      build: prepared.built ? { seconds: round(prepS, 1), imagesPerS: round(prepared.images / prepS, 1) } : null,
      loadS: round(run.medianS, 3),
      loadTimesS: run.times.map((s) => round(s, 3)),
      loadMBPerS: round(mb / run.medianS, 0),
      trainImages: split.trainIndices.length,
      assembleImagesPerS: round(batch / assemble.medianS, 0),
    },
    dataset: ds,
    config: cfg,
  };
}

/** Unit-length pseudo-random embeddings (the evaluation's cost does not depend on their values). */
function randomEmbeddings(rows: number, dim: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    let norm = 0;
    for (let j = 0; j < dim; j++) {
      const v = rng.next() - 0.5;
      out[r * dim + j] = v;
      norm += v * v;
    }
    const inv = 1 / Math.sqrt(norm);
    for (let j = 0; j < dim; j++) out[r * dim + j] = (out[r * dim + j] as number) * inv;
  }
  return out;
}

/** LFW View 2 (pairs.txt, 10 folds) from embeddings of every cached image, as the evaluate step does it. */
export async function benchPairEval(lfw: CachedDataset, cfg: RunConfig, repeats: number): Promise<PairEvalResult> {
  const split = await resolveSplit(lfw, { kind: 'lfw', view: 'view2', fold: 0 });
  const dim = cfg.model.embeddingDim;
  const n = lfw.labels.length;
  const e1 = randomEmbeddings(n, dim, 1);
  const e2 = randomEmbeddings(n, dim, 2);
  const same = split.testPairs.map((p) => p.same);
  const folds = split.testPairs.map((p) => p.fold);
  const farTargets = cfg.evaluation.farTargets;
  const once = (emb: Float32Array) => {
    const d = distancesForPairs(emb, dim, split.testPairs, cfg.loss.distance);
    return evaluateKFold(d, same, folds, { farTargets, criterion: 'accuracy' });
  };
  const plain = timeSteps(() => void once(e1), { warmup: 1, steps: repeats, capSeconds: 20 });
  const tta = timeSteps(() => void once(averageAndRenormalize(e1, e2, dim)), { warmup: 1, steps: repeats, capSeconds: 20 });
  const foldCount = new Set(folds).size;
  return {
    pairs: split.testPairs.length,
    folds: foldCount,
    embeddingDim: dim,
    medianS: round(plain.medianS, 4),
    flipTtaMedianS: round(tta.medianS, 4),
    underOneSecond: Math.max(median(plain.times), median(tta.times)) < 1,
  };
}
