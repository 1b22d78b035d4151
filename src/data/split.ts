// Train/test splits as indices into a cached dataset, plus the test pairs to evaluate, and optionally a
// validation set of held-out training identities (dataset.validationIdentities).
//   AT&T: subject-disjoint (explicit test subjects, or a seeded k-fold over subjects; 8 folds = 35/5).
//   LFW view1: train = peopleDevTrain, test = pairsDevTest.
//   LFW view2: test = all 6,000 pairs.txt pairs with their fold; train = people.txt minus fold f.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { DatasetConfig } from '../config/schema';
import { Rng } from '../util/rng';
import type { CachedDataset } from './cache';
import { DatasetError } from './errors';
import { lfwImagePath, parsePairs, parsePeople } from './lfw-protocol';

export interface TestPair {
  a: number;
  b: number;
  same: boolean;
  fold: number;
}

export interface Split {
  /** Indices into the cached dataset, ascending. */
  trainIndices: number[];
  /** Every image the test pairs use, ascending. */
  testIndices: number[];
  testPairs: TestPair[];
  /** Protocol pairs left out because an image is not in a partial cache (maxIdentities / skipped images). */
  droppedPairs: number;
  /** Images of the training identities held out for validation (dataset.validationIdentities), ascending; not in trainIndices. */
  validationIndices: number[];
  /** All unordered pairs of the validation images. */
  validationPairs: TestPair[];
}

/** Purpose tag for deriving the split's Rng from split.seed. */
const SPLIT_PURPOSE = 0x5b117;
/** Purpose tag of the validation identities' shuffle (seed 0: the same identities for every run of a split). */
const VALIDATION_PURPOSE = 0x7a11d;
const VALIDATION_IMAGES = 10;

type SplitConfig = DatasetConfig['split'];

/** Subjects of fold `fold` when `n` shuffled subjects are cut into `folds` contiguous, near-equal parts. */
export function foldRange(n: number, folds: number, fold: number): [number, number] {
  return [Math.floor((fold * n) / folds), Math.floor(((fold + 1) * n) / folds)];
}

function attSplit(ds: CachedDataset, split: Extract<SplitConfig, { kind: 'att-subjects' }>): Split {
  let test: Set<string>;
  if (split.testSubjects) {
    const unknown = split.testSubjects.filter((s) => !ds.identities.includes(s));
    if (unknown.length > 0) {
      throw new DatasetError(
        `dataset.split.testSubjects names subjects not in the dataset: ${unknown.join(', ')} (it has ${ds.identities[0]}..${ds.identities[ds.identities.length - 1]})`,
      );
    }
    test = new Set(split.testSubjects);
  } else {
    const n = ds.identities.length;
    if (split.fold >= split.folds) throw new DatasetError(`dataset.split.fold ${split.fold} must be below dataset.split.folds ${split.folds}`);
    if (split.folds > n) throw new DatasetError(`dataset.split.folds ${split.folds} is more than the ${n} subjects`);
    const order = Rng.derive(split.seed, SPLIT_PURPOSE).shuffle([...ds.identities]);
    const [lo, hi] = foldRange(n, split.folds, split.fold);
    test = new Set(order.slice(lo, hi));
  }
  if (test.size >= ds.identities.length) throw new DatasetError('dataset.split leaves no training subjects');
  const trainIndices: number[] = [];
  const testIndices: number[] = [];
  ds.labels.forEach((label, i) => (test.has(ds.identities[label] as string) ? testIndices : trainIndices).push(i));
  return { trainIndices, testIndices, testPairs: allPairs(ds, testIndices), droppedPairs: 0, validationIndices: [], validationPairs: [] };
}

/** Every unordered pair of `indices`, in order. */
function allPairs(ds: CachedDataset, indices: number[]): TestPair[] {
  const pairs: TestPair[] = [];
  for (let i = 0; i < indices.length; i++) {
    for (let j = i + 1; j < indices.length; j++) {
      const a = indices[i] as number;
      const b = indices[j] as number;
      pairs.push({ a, b, same: ds.labels[a] === ds.labels[b], fold: 0 });
    }
  }
  return pairs;
}

/** Moves `count` training identities with 2+ images (a fixed seeded choice) out of training into a validation set of up to VALIDATION_IMAGES images each. */
function holdOutValidation(ds: CachedDataset, split: Split, count: number): Split {
  const imageCount = new Map<number, number>();
  for (const i of split.trainIndices) imageCount.set(ds.labels[i] as number, (imageCount.get(ds.labels[i] as number) ?? 0) + 1);
  const eligible = [...imageCount.keys()].filter((id) => (imageCount.get(id) as number) >= 2).sort((a, b) => a - b);
  if (count >= eligible.length) {
    throw new DatasetError(`dataset.validationIdentities is ${count}, but the training split has only ${eligible.length} identities with 2 or more images; hold out fewer`);
  }
  const held = new Set(Rng.derive(0, VALIDATION_PURPOSE).shuffle(eligible).slice(0, count));
  const trainIndices = split.trainIndices.filter((i) => !held.has(ds.labels[i] as number));
  // At most VALIDATION_IMAGES of each held-out identity, so that one person with hundreds of photographs
  // (LFW has a few) neither dominates the pairs nor makes them quadratic in size; the rest are unused.
  const taken = new Map<number, number>();
  const validationIndices = split.trainIndices.filter((i) => {
    const id = ds.labels[i] as number;
    if (!held.has(id) || (taken.get(id) ?? 0) >= VALIDATION_IMAGES) return false;
    taken.set(id, (taken.get(id) ?? 0) + 1);
    return true;
  });
  return { ...split, trainIndices, validationIndices, validationPairs: allPairs(ds, validationIndices) };
}

async function protocolText(ds: CachedDataset, file: string): Promise<string> {
  const p = path.join(ds.cachePath, 'protocol', file);
  try {
    return await readFile(p, 'utf8');
  } catch {
    throw new DatasetError(`${p} is missing: the LFW cache is incomplete; run prepareDataset again`, { path: p });
  }
}

async function lfwSplit(ds: CachedDataset, split: Extract<SplitConfig, { kind: 'lfw' }>): Promise<Split> {
  const byPath = new Map(ds.paths.map((p, i) => [p, i]));
  const idOf = new Map(ds.identities.map((name, i) => [name, i]));
  const trainFile = split.view === 'view1' ? 'peopleDevTrain.txt' : 'people.txt';
  const pairsFile = split.view === 'view1' ? 'pairsDevTest.txt' : 'pairs.txt';
  const folds = parsePeople(await protocolText(ds, trainFile), trainFile);
  if (split.view === 'view2' && split.fold >= folds.length) {
    throw new DatasetError(`dataset.split.fold ${split.fold} is not a fold of people.txt (it has ${folds.length})`);
  }
  const trainPeople = new Set<number>();
  folds.forEach((people, f) => {
    if (split.view === 'view2' && f === split.fold) return;
    for (const p of people) {
      const id = idOf.get(p.name);
      if (id !== undefined) trainPeople.add(id);
    }
  });
  const trainIndices: number[] = [];
  ds.labels.forEach((label, i) => {
    if (trainPeople.has(label)) trainIndices.push(i);
  });

  const { pairs } = parsePairs(await protocolText(ds, pairsFile), pairsFile);
  const testPairs: TestPair[] = [];
  const missing: string[] = [];
  for (const p of pairs) {
    const pa = lfwImagePath(p.nameA, p.imageA);
    const pb = lfwImagePath(p.nameB, p.imageB);
    const a = byPath.get(pa);
    const b = byPath.get(pb);
    if (a === undefined || b === undefined) {
      missing.push(a === undefined ? pa : pb);
      continue;
    }
    testPairs.push({ a, b, same: p.same, fold: p.fold });
  }
  if (missing.length > 0 && !ds.partial) {
    throw new DatasetError(`${pairsFile} names ${missing.length} image(s) missing from the cache ${ds.cachePath}: ${missing.slice(0, 5).join(', ')}`);
  }
  const testIndices = [...new Set(testPairs.flatMap((p) => [p.a, p.b]))].sort((x, y) => x - y);
  return { trainIndices, testIndices, testPairs, droppedPairs: missing.length, validationIndices: [], validationPairs: [] };
}

/**
 * The train/test split of a cached dataset. Takes the DatasetConfig (or just its `split`), which must
 * match the dataset (att-subjects for AT&T, lfw for LFW). LFW reads its protocol files from the cache.
 * Deterministic: the same config gives the same indices on every machine.
 */
export async function resolveSplit(ds: CachedDataset, cfg: DatasetConfig | SplitConfig): Promise<Split> {
  const split: SplitConfig = 'kind' in cfg ? cfg : cfg.split;
  let resolved: Split;
  if (ds.dataset === 'att' && split.kind === 'att-subjects') resolved = attSplit(ds, split);
  else if (ds.dataset === 'lfw' && split.kind === 'lfw') resolved = await lfwSplit(ds, split);
  else throw new DatasetError(`dataset.split.kind '${split.kind}' does not fit the ${ds.dataset} dataset (att: 'att-subjects', lfw: 'lfw')`);
  const validation = 'kind' in cfg ? 0 : cfg.validationIdentities;
  return validation > 0 ? holdOutValidation(ds, resolved, validation) : resolved;
}
