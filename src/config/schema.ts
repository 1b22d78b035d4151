// The single source of truth for every option of a run and its default.
// Every object is strict: an unknown key is an error, so a typo never silently falls back to a default.
import { z } from 'zod';

const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().nonnegative();
const probability = z.number().min(0).max(1);

export const BACKENDS = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export const backendSchema = z.enum(BACKENDS);

const hexSha256 = z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256 is 64 lowercase hex digits');

/** Where the raw dataset comes from: a local folder, a local archive, or a download. */
export const sourceSchema = z
  .strictObject({
    /** An unpacked dataset folder (AT&T: holds s1..s40; LFW: holds lfw-deepfunneled/ and the protocol .txt files). */
    dir: z.string().min(1).optional(),
    /** A local archive (att_faces.zip, lfw-deepfunneled.tgz). */
    archive: z.string().min(1).optional(),
    /** Download URL of the image archive, used only when neither dir nor archive is given. */
    url: z.url().optional(),
    /** Expected SHA-256 of the downloaded archive; a mismatch refuses the file. */
    sha256: hexSha256.optional(),
    /** LFW only: base URL of the protocol files (pairs.txt, peopleDevTrain.txt, ...). */
    protocolUrl: z.url().optional(),
    /** Where downloads and unpacked archives are kept. */
    downloadDir: z.string().min(1).default('.cache/downloads'),
  })
  .refine((s) => !(s.dir && s.archive), { message: 'give either dir or archive, not both' });

const attSplitSchema = z.strictObject({
  kind: z.literal('att-subjects'),
  /** Explicit held-out subjects, e.g. [s36, s37, s38, s39, s40]. Takes precedence over folds. */
  testSubjects: z.array(z.string().regex(/^s\d+$/, 'subjects are named s1..s40')).min(2).optional(),
  /** Seeded k-fold over subjects: number of folds and which fold is the test fold. */
  folds: z.number().int().min(2).default(8),
  fold: nonNegativeInt.default(0),
  seed: z.number().int().default(0),
});

const lfwSplitSchema = z.strictObject({
  kind: z.literal('lfw'),
  /** view1: train peopleDevTrain, test pairsDevTest. view2: pairs.txt 10-fold. */
  view: z.enum(['view1', 'view2']).default('view1'),
  /** view2 only: the test fold (0..9); training excludes that fold's people (people.txt folds). */
  fold: z.number().int().min(0).max(9).default(0),
});

export const splitSchema = z.discriminatedUnion('kind', [attSplitSchema, lfwSplitSchema]);

export const datasetSchema = z.strictObject({
  name: z.enum(['att', 'lfw']),
  source: sourceSchema.default({ downloadDir: '.cache/downloads' }),
  split: splitSchema,
  /** Preprocessed shards are kept here, keyed by the manifest and preprocessing hash. */
  cacheDir: z.string().min(1).default('.cache/preprocessed'),
  /** What to do with an unreadable image: refuse the dataset, or skip it with a warning. */
  onBadImage: z.enum(['error', 'skip']).default('error'),
  /** Use at most this many identities (smaller runs and tests); null = all. */
  maxIdentities: positiveInt.nullable().default(null),
});

const sizeSchema = z.strictObject({ height: positiveInt, width: positiveInt });

export const preprocessSchema = z.strictObject({
  channels: z.union([z.literal(1), z.literal(3)]),
  /** Centre crop (the reference's 128 high x 98 wide for LFW); null = whole image. */
  centerCrop: sizeSchema.nullable().default(null),
  /** Resize after the crop; null = native resolution (no upsampling). */
  resize: sizeSchema.nullable().default(null),
  normalize: z
    .strictObject({
      /** fixed: the mean/std below; computed: per-channel on the training split; none: x/255. */
      mode: z.enum(['fixed', 'computed', 'none']).default('fixed'),
      mean: z.array(z.number()).min(1).max(3).default([0.5]),
      std: z.array(z.number().positive()).min(1).max(3).default([0.5]),
    })
    .default({ mode: 'fixed', mean: [0.5], std: [0.5] }),
  augment: z
    .strictObject({
      horizontalFlip: z.boolean().default(false),
      /** Random translation of up to this many pixels (pad-and-crop), applied at batch time. */
      randomCropPad: nonNegativeInt.default(0),
    })
    .default({ horizontalFlip: false, randomCropPad: 0 }),
});

export const modelSchema = z.strictObject({
  architecture: z.enum(['resnet18', 'resnet34', 'resnet50']).default('resnet18'),
  /** Channel widths of the four stages; standard ResNet is [64, 128, 256, 512]. */
  widths: z.tuple([positiveInt, positiveInt, positiveInt, positiveInt]).default([64, 128, 256, 512]),
  /** standard: 7x7/2 conv + 3x3/2 max-pool; light: 3x3/1 conv, no pool (small inputs). */
  stem: z.enum(['standard', 'light']).default('standard'),
  embeddingDim: positiveInt.default(128),
  /** Start from an exported model of an earlier run (its model.json). */
  initFrom: z.string().min(1).nullable().default(null),
});

export const lossSchema = z.strictObject({
  miner: z.enum(['batch-all', 'batch-hard', 'semi-hard']).default('batch-all'),
  margin: z.number().positive().default(0.2),
  distance: z.enum(['euclidean', 'squared-euclidean']).default('euclidean'),
});

export const samplerSchema = z.strictObject({
  /** pk: P identities x K images per batch; shuffle: plain shuffled batches (the reference's LFW). */
  kind: z.enum(['pk', 'shuffle']).default('pk'),
  identitiesPerBatch: positiveInt.default(10),
  imagesPerIdentity: positiveInt.default(10),
  /** Only for shuffle. */
  batchSize: positiveInt.default(100),
  /**
   * Identities with fewer than K images: 'repeat' samples them with replacement up to K,
   * 'drop' leaves them out of training; identities with a single image are never anchors either way.
   */
  fewImagesPolicy: z.enum(['repeat', 'drop']).default('repeat'),
});

export const optimizerSchema = z.strictObject({
  name: z.enum(['adam', 'adamw', 'sgd']).default('adam'),
  learningRate: z.number().positive().default(2e-4),
  weightDecay: z.number().nonnegative().default(0),
  beta1: probability.default(0.9),
  beta2: probability.default(0.999),
  epsilon: z.number().positive().default(1e-8),
  momentum: probability.default(0.9),
  /** Clip the global gradient norm to this value; null = no clipping. */
  clipGradNorm: z.number().positive().nullable().default(null),
});

export const scheduleSchema = z.strictObject({
  kind: z.enum(['none', 'step', 'cosine']).default('none'),
  /** step: multiply by gamma every stepEpochs epochs. */
  stepEpochs: positiveInt.default(50),
  gamma: z.number().positive().max(1).default(0.5),
  /** cosine: decay to minLearningRate over all epochs. */
  minLearningRate: z.number().nonnegative().default(0),
  warmupEpochs: nonNegativeInt.default(0),
});

export const trainingSchema = z.strictObject({
  epochs: positiveInt,
  /** Steps per epoch; null = one pass over the training identities (sampler-defined). */
  stepsPerEpoch: positiveInt.nullable().default(null),
  seed: z.number().int().default(0),
  /** Also checkpoint every N steps inside an epoch; null = only at epoch end. */
  checkpointEverySteps: positiveInt.nullable().default(null),
  keepLastCheckpoints: positiveInt.default(3),
  /** Heartbeat / progress line every N steps. */
  logEverySteps: positiveInt.default(1),
});

export const evaluationSchema = z.strictObject({
  /** Evaluate every N epochs (and always after the last). */
  every: positiveInt.default(5),
  threshold: z.enum(['accuracy', 'youden']).default('accuracy'),
  flipTTA: z.boolean().default(false),
  batchSize: positiveInt.default(64),
  farTargets: z.array(z.number().positive().max(1)).default([1e-1, 1e-2, 1e-3]),
  tsne: z.boolean().default(true),
});

export const runConfigSchema = z.strictObject({
  /** A short name, used in run ids and search attributes. */
  name: z.string().regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, dot, dash, underscore'),
  description: z.string().default(''),
  backend: backendSchema.default('auto'),
  runsDir: z.string().min(1).default('runs'),
  dataset: datasetSchema,
  preprocess: preprocessSchema,
  model: modelSchema.default({
    architecture: 'resnet18',
    widths: [64, 128, 256, 512],
    stem: 'standard',
    embeddingDim: 128,
    initFrom: null,
  }),
  loss: lossSchema.default({ miner: 'batch-all', margin: 0.2, distance: 'euclidean' }),
  sampler: samplerSchema.default({
    kind: 'pk',
    identitiesPerBatch: 10,
    imagesPerIdentity: 10,
    batchSize: 100,
    fewImagesPolicy: 'repeat',
  }),
  optimizer: optimizerSchema.default({
    name: 'adam',
    learningRate: 2e-4,
    weightDecay: 0,
    beta1: 0.9,
    beta2: 0.999,
    epsilon: 1e-8,
    momentum: 0.9,
    clipGradNorm: null,
  }),
  schedule: scheduleSchema.default({ kind: 'none', stepEpochs: 50, gamma: 0.5, minLearningRate: 0, warmupEpochs: 0 }),
  training: trainingSchema,
  evaluation: evaluationSchema.default({
    every: 5,
    threshold: 'accuracy',
    flipTTA: false,
    batchSize: 64,
    farTargets: [1e-1, 1e-2, 1e-3],
    tsne: true,
  }),
});

export type RunConfig = z.infer<typeof runConfigSchema>;
export type RunConfigInput = z.input<typeof runConfigSchema>;
export type BackendName = z.infer<typeof backendSchema>;
export type DatasetConfig = RunConfig['dataset'];
export type PreprocessConfig = RunConfig['preprocess'];
export type ModelConfig = RunConfig['model'];
export type LossConfig = RunConfig['loss'];
export type SamplerConfig = RunConfig['sampler'];
export type OptimizerConfig = RunConfig['optimizer'];
export type ScheduleConfig = RunConfig['schedule'];
export type TrainingConfig = RunConfig['training'];
export type EvaluationConfig = RunConfig['evaluation'];
