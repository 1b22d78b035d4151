// The model/input shapes the benchmark measures, read from the run configs they stand for, so the
// figures follow the configs when those change (the AT&T shapes keep the yardstick's input: SOURCES). The full
// ResNet-18 is the att-cpu setup with the standard widths (64..512): the net the reference trains, at AT&T's
// native 112x92.
import path from 'node:path';
import { loadConfig } from '../src/config/load';
import type { LossConfig, OptimizerConfig, RunConfig } from '../src/config/schema';

export const SHAPE_IDS = ['att-cpu', 'lfw-cpu', 'resnet18'] as const;
export type ShapeId = (typeof SHAPE_IDS)[number];

export interface BenchShape {
  id: ShapeId;
  /** The config it is read from (relative to the project root). */
  config: string;
  /** [height, width, channels], NHWC as the TypeScript model takes it. */
  inputShape: [number, number, number];
  widths: [number, number, number, number];
  stem: RunConfig['model']['stem'];
  embeddingDim: number;
  batch: number;
  imagesPerIdentity: number;
  loss: LossConfig;
  optimizer: OptimizerConfig;
  seed: number;
  /** How the batch was chosen: the benchmark default (16) or the config's P x K. */
  batchFrom: 'bench' | 'config';
}

/** Batch used for every shape unless --batch says otherwise: the PyTorch yardstick's batch. */
export const DEFAULT_BATCH = 16;
/** K of the default batch: 4 identities x 4 images, as torch_reference.py's --images-per-identity default. */
export const DEFAULT_IMAGES_PER_IDENTITY = 4;

// The AT&T shapes stay those of the PyTorch yardstick and of issue 19's table (the whole 112x92 image, plain
// Adam, a 64-d embedding, the triplet loss alone), not att-cpu.yml's face box, weight decay, 128-d embedding and
// contrastive and CosFace terms: the speed of the same step on both sides (torch_reference.py has neither term).
const YARDSTICK = ['preprocess.crop=null', 'optimizer.weightDecay=0', 'model.embeddingDim=64', 'loss.contrastiveWeight=0', 'loss.cosFaceWeight=0'];
const SOURCES: Record<ShapeId, { config: string; overrides?: string[]; widths?: [number, number, number, number] }> = {
  'att-cpu': { config: 'configs/att-cpu.yml', overrides: YARDSTICK },
  'lfw-cpu': { config: 'configs/lfw-cpu.yml' },
  resnet18: { config: 'configs/att-cpu.yml', overrides: YARDSTICK, widths: [64, 128, 256, 512] },
};

/** Height and width of the cached images a config produces (crop, then resize; AT&T is 112x92 native). */
function inputOf(cfg: RunConfig): [number, number, number] {
  const pre = cfg.preprocess;
  if (pre.resize) return [pre.resize.height, pre.resize.width, pre.channels];
  const crop = pre.crop ?? pre.centerCrop;
  if (crop) return [crop.height, crop.width, pre.channels];
  const native: Record<RunConfig['dataset']['name'], [number, number]> = { att: [112, 92], lfw: [250, 250] };
  const [h, w] = native[cfg.dataset.name];
  return [h, w, pre.channels];
}

/**
 * `batch`: a number, or 'config' for the config's P x K (pk sampler) or batchSize (shuffle sampler).
 */
export function resolveShape(id: ShapeId, projectRoot: string, batch: number | 'config'): BenchShape {
  const src = SOURCES[id];
  const cfg = loadConfig(path.join(projectRoot, src.config), src.overrides ?? []);
  let b: number;
  let k: number;
  if (batch === 'config') {
    const s = cfg.sampler;
    b = s.kind === 'pk' ? s.identitiesPerBatch * s.imagesPerIdentity : s.batchSize;
    k = s.kind === 'pk' ? s.imagesPerIdentity : DEFAULT_IMAGES_PER_IDENTITY;
  } else {
    b = batch;
    k = Math.min(DEFAULT_IMAGES_PER_IDENTITY, b);
  }
  return {
    id,
    config: src.config,
    inputShape: inputOf(cfg),
    widths: src.widths ?? cfg.model.widths,
    stem: cfg.model.stem,
    embeddingDim: cfg.model.embeddingDim,
    batch: b,
    imagesPerIdentity: k,
    loss: cfg.loss,
    optimizer: cfg.optimizer,
    seed: cfg.training.seed,
    batchFrom: batch === 'config' ? 'config' : 'bench',
  };
}

/** "1x112x92 w32..256 b16", for tables. */
export function describeShape(s: BenchShape): string {
  const [h, w, c] = s.inputShape;
  return `${c}x${h}x${w} w${s.widths[0]}..${s.widths[3]} b${s.batch}`;
}

/** Labels 0,0,0,0,1,1,1,1,...: K images per identity, as the P x K sampler and torch_reference.py give. */
export function pkLabels(batch: number, imagesPerIdentity: number): Int32Array {
  return Int32Array.from({ length: batch }, (_, i) => Math.floor(i / imagesPerIdentity));
}
