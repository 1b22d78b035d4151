// Batch samplers over the training images. Batches are a pure function of (seed, epoch), so a run
// resumed at step s of an epoch gets exactly the batches s, s+1, ... it would have had.
//
// 'pk': P identities x K images. One pass over the eligible identities (shuffled per epoch) makes
//   floor(#eligible / P) batches; the leftover identities wait for the next epoch's shuffle.
//   An identity with more than K images contributes K of them, drawn afresh each epoch.
//   fewImagesPolicy for identities with 2..K-1 images: 'repeat' takes all of them and fills up to K
//   by drawing from them with replacement; 'drop' leaves them out.
//   Identities with a single image can never give an anchor-positive pair. They are left out unless
//   singleImageNegatives = n > 0: then every batch also gets n of their images (a fresh shuffle of them per
//   pass, dealt in turn and wrapping around), which serve only as negatives. Drawn after the P x K part, so
//   with n = 0 the batches are exactly those of a sampler without the option.
// 'shuffle': a permutation of the training images cut into batches of batchSize (last one may be smaller).
import type { SamplerConfig } from '../config/schema';
import { Rng } from '../util/rng';
import { DatasetError } from './errors';

const SAMPLER_PURPOSE = 0x5a3b1e;

export interface Sampler {
  /** Batches in one pass (one epoch when training.stepsPerEpoch is null). */
  readonly stepsPerEpoch: number;
  /** Identities that can be anchors in batches (pk) or all training identities (shuffle). */
  readonly identities: number[];
  /** pk: identities never in a batch (single image without singleImageNegatives, or fewer than K with 'drop'). */
  readonly excludedIdentities: number[];
  /**
   * The batches of an epoch, as indices into the cached dataset. `steps` defaults to stepsPerEpoch;
   * more steps continue with further passes, each reshuffled.
   */
  batches(epoch: number, steps?: number): number[][];
  /** batches(epoch, steps) from `startStep` on: for resuming inside an epoch. */
  batchesFrom(epoch: number, startStep: number, steps?: number): number[][];
}

function groupByLabel(labels: ArrayLike<number>, indices: number[]): Map<number, number[]> {
  const groups = new Map<number, number[]>();
  for (const i of [...indices].sort((a, b) => a - b)) {
    const label = labels[i];
    if (label === undefined) throw new DatasetError(`training index ${i} is outside the dataset (${labels.length} images)`);
    const g = groups.get(label);
    if (g) g.push(i);
    else groups.set(label, [i]);
  }
  return groups;
}

function makePass(cfg: SamplerConfig, groups: Map<number, number[]>, eligible: number[], indices: number[], singles: number[]) {
  if (cfg.kind === 'shuffle') {
    const sorted = [...indices].sort((a, b) => a - b);
    return {
      perPass: Math.ceil(sorted.length / cfg.batchSize),
      pass(rng: Rng): number[][] {
        const perm = rng.shuffle([...sorted]);
        const out: number[][] = [];
        for (let i = 0; i < perm.length; i += cfg.batchSize) out.push(perm.slice(i, i + cfg.batchSize));
        return out;
      },
    };
  }
  const P = cfg.identitiesPerBatch;
  const K = cfg.imagesPerIdentity;
  return {
    perPass: Math.floor(eligible.length / P),
    pass(rng: Rng): number[][] {
      const order = rng.shuffle([...eligible]);
      const out: number[][] = [];
      for (let b = 0; b + P <= order.length; b += P) {
        const batch: number[] = [];
        for (const id of order.slice(b, b + P)) {
          const imgs = rng.shuffle([...(groups.get(id) as number[])]);
          const take = imgs.slice(0, K);
          while (take.length < K) take.push(imgs[rng.int(imgs.length)] as number);
          batch.push(...take);
        }
        out.push(batch);
      }
      const n = cfg.singleImageNegatives;
      if (n > 0) {
        const pool = rng.shuffle([...singles]);
        out.forEach((batch, b) => {
          for (let j = 0; j < n; j++) batch.push(pool[(b * n + j) % pool.length] as number);
        });
      }
      return out;
    },
  };
}

/**
 * Builds a sampler over `trainIndices` (indices into the cached dataset, whose labels are `labels`).
 * Throws when there are too few usable identities or images for one batch.
 */
export function makeSampler(labels: ArrayLike<number>, trainIndices: number[], cfg: SamplerConfig, seed: number): Sampler {
  if (trainIndices.length === 0) throw new DatasetError('the training split is empty');
  const groups = groupByLabel(labels, trainIndices);
  const all = [...groups.keys()].sort((a, b) => a - b);
  const K = cfg.imagesPerIdentity;
  const minImages = cfg.kind === 'pk' ? (cfg.fewImagesPolicy === 'drop' ? K : 2) : 1;
  const eligible = all.filter((id) => (groups.get(id) as number[]).length >= Math.max(2, minImages) || cfg.kind === 'shuffle');
  const negativesPerBatch = cfg.kind === 'pk' ? cfg.singleImageNegatives : 0;
  const singleIds = negativesPerBatch > 0 ? all.filter((id) => (groups.get(id) as number[]).length === 1) : [];
  if (singleIds.length < negativesPerBatch) {
    throw new DatasetError(
      `sampler.singleImageNegatives is ${negativesPerBatch}, but only ${singleIds.length} training identities have a single image; lower it (or set it to 0)`,
    );
  }
  const used = new Set([...eligible, ...singleIds]);
  const excluded = all.filter((id) => !used.has(id));
  const singles = singleIds.map((id) => (groups.get(id) as number[])[0] as number);
  const { perPass, pass } = makePass(cfg, groups, eligible, trainIndices, singles);
  if (perPass === 0) {
    throw new DatasetError(
      cfg.kind === 'pk'
        ? `sampler: only ${eligible.length} training identities have at least ${Math.max(2, minImages)} images (fewImagesPolicy '${cfg.fewImagesPolicy}'), fewer than sampler.identitiesPerBatch = ${cfg.identitiesPerBatch}; lower it`
        : 'sampler: no training images',
    );
  }
  const batches = (epoch: number, steps: number = perPass): number[][] => {
    const out: number[][] = [];
    for (let p = 0; out.length < steps; p++) out.push(...pass(Rng.derive(seed, SAMPLER_PURPOSE, epoch, p)));
    return out.slice(0, steps);
  };
  return {
    stepsPerEpoch: perPass,
    identities: eligible,
    excludedIdentities: excluded,
    batches,
    batchesFrom: (epoch, startStep, steps) => batches(epoch, steps).slice(startStep),
  };
}
