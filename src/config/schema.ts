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
    dir: z.string().min(1).optional().describe('An unpacked dataset folder (AT&T: holds s1..s40; LFW: holds lfw-deepfunneled/ and the protocol .txt files).'),
    archive: z.string().min(1).optional().describe('A local archive (att_faces.zip, lfw-deepfunneled.tgz).'),
    url: z.url().optional().describe('Download URL of the image archive, used only when neither dir nor archive is given.'),
    sha256: hexSha256.optional().describe('Expected SHA-256 of the downloaded archive; a mismatch refuses the file.'),
    protocolUrl: z.url().optional().describe('LFW only: base URL of the protocol files (pairs.txt, peopleDevTrain.txt, ...).'),
    downloadDir: z.string().min(1).default('.cache/downloads').describe('Where downloads and unpacked archives are kept.'),
  })
  .refine((s) => !(s.dir && s.archive), { message: 'give either dir or archive, not both' });

const attSplitSchema = z.strictObject({
  kind: z.literal('att-subjects').describe('AT&T: held-out subjects.'),
  testSubjects: z.array(z.string().regex(/^s\d+$/, 'subjects are named s1..s40')).min(2).optional().describe('Explicit held-out subjects, e.g. [s36, s37, s38, s39, s40]. Takes precedence over folds.'),
  folds: z.number().int().min(2).default(8).describe('Seeded k-fold over subjects: number of folds and which fold is the test fold.'),
  fold: nonNegativeInt.default(0).describe('Which of the folds holds the test subjects (0-based).'),
  seed: z.number().int().default(0).describe('Seed of the subject shuffle for the folds.'),
});

const lfwSplitSchema = z.strictObject({
  kind: z.literal('lfw').describe('LFW: the official protocol views.'),
  view: z.enum(['view1', 'view2']).default('view1').describe('view1: train peopleDevTrain, test pairsDevTest. view2: pairs.txt 10-fold.'),
  fold: z.number().int().min(0).max(9).default(0).describe('view2 only: the test fold (0..9); training excludes that fold\'s people (people.txt folds).'),
});

export const splitSchema = z.discriminatedUnion('kind', [attSplitSchema, lfwSplitSchema]);

export const datasetSchema = z.strictObject({
  name: z.enum(['att', 'lfw']).describe('Which dataset.'),
  source: sourceSchema.default({ downloadDir: '.cache/downloads' }),
  split: splitSchema,
  cacheDir: z.string().min(1).default('.cache/preprocessed').describe('Preprocessed shards are kept here, keyed by the manifest and preprocessing hash.'),
  onBadImage: z.enum(['error', 'skip']).default('error').describe('What to do with an unreadable image: refuse the dataset, or skip it with a warning.'),
  maxIdentities: positiveInt.nullable().default(null).describe('Use at most this many identities (smaller runs and tests); null = all.'),
  validationIdentities: nonNegativeInt
    .default(0)
    .describe('Training identities (with 2+ images) held out of training as a validation set, chosen by a fixed seeded shuffle: their pairs pick the exported checkpoint (export.checkpoint: best-validation) and its threshold without looking at the test pairs; that threshold is always Youden\'s J (the pairs are mostly different people, and the most accurate threshold on them would call nearly every pair different). 0 = none.'),
});

const sizeSchema = z.strictObject({ height: positiveInt, width: positiveInt });
const boxSchema = z.strictObject({ top: nonNegativeInt, left: nonNegativeInt, height: positiveInt, width: positiveInt });

export const preprocessSchema = z.strictObject({
  channels: z.union([z.literal(1), z.literal(3)]).describe('1 = grayscale, 3 = RGB.'),
  centerCrop: sizeSchema.nullable().default(null).describe('Centre crop (the reference\'s 128 high x 98 wide for LFW); null = whole image.'),
  crop: boxSchema
    .nullable()
    .default(null)
    .describe('A fixed box cut from every image, in pixels from the top-left corner (for datasets whose images share one size and framing, such as AT&T\'s 112x92); null = none. Not together with centerCrop.'),
  resize: sizeSchema.nullable().default(null).describe('Resize after the crop; null = native resolution (no upsampling).'),
  normalize: z
    .strictObject({
      mode: z.enum(['fixed', 'computed', 'none']).default('fixed').describe('fixed: the mean/std below; computed: per-channel on the training split; none: x/255.'),
      mean: z.array(z.number()).min(1).max(3).default([0.5]).describe('Per-channel mean of pixels scaled to [0, 1] (mode fixed).'),
      std: z.array(z.number().positive()).min(1).max(3).default([0.5]).describe('Per-channel standard deviation (mode fixed).'),
    })
    .default({ mode: 'fixed', mean: [0.5], std: [0.5] }),
  augment: z
    .strictObject({
      horizontalFlip: z.boolean().default(false).describe('Mirror each training image with probability 1/2.'),
      randomCropPad: nonNegativeInt.default(0).describe('Random translation of up to this many pixels (pad-and-crop), applied at batch time.'),
      randomScale: z.number().min(0).max(0.5).default(0).describe('Random zoom about the centre by a factor uniform in [1 - s, 1 + s] (bilinear); 0 = off. For datasets photographed at several distances (AT&T).'),
      randomRotation: z.number().min(0).max(45).default(0).describe('Random rotation about the centre, uniform in [-d, d] degrees (bilinear); 0 = off.'),
      brightness: z.number().min(0).max(1).default(0).describe('Multiply pixel values by a factor uniform in [1 - b, 1 + b]; 0 = off.'),
      contrast: z.number().min(0).max(1).default(0).describe('Scale each image\'s deviations from its own mean by a factor uniform in [1 - c, 1 + c]; 0 = off.'),
    })
    .default({ horizontalFlip: false, randomCropPad: 0, randomScale: 0, randomRotation: 0, brightness: 0, contrast: 0 }),
});

export const modelSchema = z.strictObject({
  architecture: z.enum(['resnet18', 'resnet34', 'resnet50']).default('resnet18').describe('ResNet depth: 18 and 34 use basic blocks, 50 bottlenecks.'),
  widths: z.tuple([positiveInt, positiveInt, positiveInt, positiveInt]).default([64, 128, 256, 512]).describe('Channel widths of the four stages; standard ResNet is [64, 128, 256, 512].'),
  stem: z.enum(['standard', 'light']).default('standard').describe('standard: 7x7/2 conv + 3x3/2 max-pool; light: 3x3/1 conv, no pool (small inputs).'),
  embeddingDim: positiveInt.default(128).describe('Size of the L2-normalised embedding.'),
  initFrom: z.string().min(1).nullable().default(null).describe('Start from an exported model of an earlier run (its model.json).'),
  // Fine-tuning a published face model (docs/fine-tune.md); checked against preprocess in checkModelInit below.
  init: z.enum(['random', 'face-api-resnet34']).default('random').describe('random: the seeded ResNet above. face-api-resnet34: the 128-d descriptor net of @vladmandic/face-api (dlib\'s ResNet-34) with its published weights; architecture, widths and stem are then unused, and preprocess must give what it was trained on (configs/att-faceapi.yml).'),
  freeze: z.array(z.enum(['stem', 'stage1', 'stage2', 'stage3', 'stage4', 'embedding'])).default([]).describe('model.init face-api-resnet34 only: stages whose weights are not trained.'),
});

export const lossSchema = z.strictObject({
  miner: z.enum(['batch-all', 'batch-hard', 'semi-hard']).default('batch-all').describe('Online triplet mining: all valid triplets (mean over the active ones), the hardest positive and negative per anchor, or FaceNet\'s semi-hard negatives.'),
  margin: z.number().positive().default(0.2).describe('Triplet margin.'),
  distance: z.enum(['euclidean', 'squared-euclidean']).default('euclidean').describe('Distance between embeddings, for the loss and for verification.'),
  tripletWeight: z.number().min(0).default(1).describe('Weight of the triplet loss in the training loss (0: the other terms alone).'),
  contrastiveWeight: z.number().min(0).default(0).describe('Weight of the supervised contrastive loss (Khosla et al. 2020) added to the triplet loss; 0: none.'),
  temperature: z.number().positive().default(0.1).describe('Temperature of the supervised contrastive loss (cosine similarities are divided by it).'),
  cosFaceWeight: z.number().min(0).default(0).describe('Weight of the CosFace loss (Wang et al. 2018): a softmax over the training people with a learnt unit vector each, kept in the checkpoints; 0: none.'),
  cosFaceMargin: z.number().min(0).default(0.35).describe('CosFace margin, subtracted from the cosine to the own person\'s vector.'),
  cosFaceScale: z.number().positive().default(30).describe('CosFace scale: the cosines are multiplied by it before the softmax.'),
});

export const samplerSchema = z.strictObject({
  kind: z.enum(['pk', 'shuffle']).default('pk').describe('pk: P identities x K images per batch; shuffle: plain shuffled batches (the reference\'s LFW).'),
  identitiesPerBatch: positiveInt.default(10).describe('P: identities per batch (pk).'),
  imagesPerIdentity: positiveInt.default(10).describe('K: images per identity (pk).'),
  batchSize: positiveInt.default(100).describe('Only for shuffle.'),
  fewImagesPolicy: z.enum(['repeat', 'drop']).default('repeat').describe('Identities with fewer than K images: \'repeat\' samples them with replacement up to K, \'drop\' leaves them out of training; identities with a single image are never anchors either way.'),
  singleImageNegatives: nonNegativeInt.default(0).describe('pk: images of identities with a single training image added to every batch (a P x K batch grows by this many). They have no positive, so they only serve as negatives; 0 leaves those identities out.'),
});

export const optimizerSchema = z.strictObject({
  name: z.enum(['adam', 'adamw', 'sgd']).default('adam').describe('adamw decouples weight decay from the gradient; sgd uses momentum.'),
  learningRate: z.number().positive().default(2e-4).describe('Base learning rate (the schedule scales it).'),
  weightDecay: z.number().nonnegative().default(0).describe('Decoupled weight decay (adamw) or L2 added to the gradient (adam, sgd).'),
  beta1: probability.default(0.9).describe('Adam/AdamW first-moment decay.'),
  beta2: probability.default(0.999).describe('Adam/AdamW second-moment decay.'),
  epsilon: z.number().positive().default(1e-8).describe('Adam/AdamW denominator epsilon.'),
  momentum: probability.default(0.9).describe('SGD momentum.'),
  clipGradNorm: z.number().positive().nullable().default(null).describe('Clip the global gradient norm to this value; null = no clipping.'),
});

export const scheduleSchema = z.strictObject({
  kind: z.enum(['none', 'step', 'cosine']).default('none').describe('Learning-rate schedule.'),
  stepEpochs: positiveInt.default(50).describe('step: multiply by gamma every stepEpochs epochs.'),
  gamma: z.number().positive().max(1).default(0.5).describe('step: the factor applied every stepEpochs.'),
  minLearningRate: z.number().nonnegative().default(0).describe('cosine: decay to minLearningRate over all epochs.'),
  warmupEpochs: nonNegativeInt.default(0).describe('Linear warm-up from 0 over these epochs.'),
});

export const trainingSchema = z.strictObject({
  epochs: positiveInt.describe('Epochs to train.'),
  stepsPerEpoch: positiveInt.nullable().default(null).describe('Steps per epoch; null = one pass over the training identities (sampler-defined).'),
  seed: z.number().int().default(0).describe('Seed of initialisation, sampling and augmentation.'),
  checkpointEverySteps: positiveInt.nullable().default(null).describe('Also checkpoint every N steps inside an epoch; null = only at epoch end.'),
  keepLastCheckpoints: positiveInt.default(3).describe('Checkpoints kept besides the best one (older ones are deleted).'),
  averageWeights: z
    .strictObject({
      kind: z
        .enum(['none', 'ema', 'uniform'])
        .default('none')
        .describe('Average the weights at the end of every epoch from fromEpoch on; evaluation and export use the average, training goes on from the raw weights. ema: exponential moving average (decay per epoch); uniform: the plain mean of those epochs (stochastic weight averaging).'),
      fromEpoch: positiveInt.default(1).describe('The first epoch (from 1) whose weights enter the average; evaluations before it use the raw weights.'),
      decay: z.number().min(0).lt(1).default(0.9).describe('ema: the weight kept from the average at each epoch end (0.9 = an average over about the last 10 epochs).'),
    })
    .default({ kind: 'none', fromEpoch: 1, decay: 0.9 })
    .describe('Weight averaging over epoch ends.'),
});

export const evaluationSchema = z.strictObject({
  every: positiveInt.default(5).describe('Evaluate every N epochs (and always after the last).'),
  threshold: z.enum(['accuracy', 'youden']).default('accuracy').describe('How the test pairs\' threshold is chosen: best accuracy, or Youden\'s J = TAR - FAR (the reference\'s AT&T choice); the same threshold on balanced pairs such as LFW\'s.'),
  flipTTA: z.boolean().default(false).describe('Average the embeddings of each image and its mirror image.'),
  batchSize: positiveInt.default(64).describe('Images per embedding batch.'),
  farTargets: z.array(z.number().positive().max(1)).default([1e-1, 1e-2, 1e-3]).describe('FAR values at which TAR is reported.'),
  tsne: z.boolean().default(true).describe('Draw a t-SNE map of the test embeddings in the report.'),
});

export const exportSchema = z.strictObject({
  checkpoint: z
    .enum(['final', 'best-validation'])
    .default('final')
    .describe('Which checkpoint becomes <run>/model: the last epoch\'s, or the evaluated epoch with the best balanced accuracy ((TAR + 1 - FAR) / 2) on the validation pairs at their threshold (needs dataset.validationIdentities > 0). Test pairs are for reporting only.'),
});

export const resumeSchema = z.strictObject({
  allowDatasetChange: z.boolean().default(false).describe('Resume even though the dataset content changed since the run recorded it (the change is recorded in run-record.json). May differ between attempts of one run.'),
  allowBackendChange: z.boolean().default(false).describe('Resume on another backend or thread count than the run recorded (the change is recorded in run-record.json). May differ between attempts of one run.'),
});

export const runConfigSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, dot, dash, underscore').describe('A short name, used in run ids and search attributes.'),
  description: z.string().default('').describe('Free text, shown in the report and the Temporal memo.'),
  backend: backendSchema.default('auto').describe('tfjs backend; auto picks the fastest that loads (tensorflow-gpu, tensorflow, wasm, cpu). The environment variable FACENET_BACKEND overrides it on a worker.'),
  runsDir: z.string().min(1).default('runs').describe('Run directories are created here: <runsDir>/<run id>/.'),
  dataset: datasetSchema,
  preprocess: preprocessSchema,
  model: modelSchema.default({
    architecture: 'resnet18',
    widths: [64, 128, 256, 512],
    stem: 'standard',
    embeddingDim: 128,
    initFrom: null,
    init: 'random',
    freeze: [],
  }),
  loss: lossSchema.default({ miner: 'batch-all', margin: 0.2, distance: 'euclidean', tripletWeight: 1, contrastiveWeight: 0, temperature: 0.1, cosFaceWeight: 0, cosFaceMargin: 0.35, cosFaceScale: 30 }),
  sampler: samplerSchema.default({
    kind: 'pk',
    identitiesPerBatch: 10,
    imagesPerIdentity: 10,
    batchSize: 100,
    fewImagesPolicy: 'repeat',
    singleImageNegatives: 0,
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
  export: exportSchema.default({ checkpoint: 'final' }),
  resume: resumeSchema.default({ allowDatasetChange: false, allowBackendChange: false }),
}).refine((c) => c.export.checkpoint !== 'best-validation' || c.dataset.validationIdentities > 0, {
  message: 'best-validation needs a validation set: set dataset.validationIdentities (e.g. 3 for AT&T, 50 for LFW)',
  path: ['export', 'checkpoint'],
}).superRefine(checkModelInit).superRefine((c, ctx) => {
  if (c.preprocess.crop && c.preprocess.centerCrop) {
    ctx.addIssue({ code: 'custom', path: ['preprocess', 'crop'], message: 'give either crop (a box) or centerCrop, not both; set the other to null' });
  }
  if (c.sampler.kind === 'shuffle' && c.sampler.singleImageNegatives > 0) {
    ctx.addIssue({ code: 'custom', path: ['sampler', 'singleImageNegatives'], message: 'single-image negatives are added to P x K batches only: use sampler.kind pk, or set this to 0' });
  }
  if (c.loss.tripletWeight === 0 && c.loss.contrastiveWeight === 0 && c.loss.cosFaceWeight === 0) {
    ctx.addIssue({ code: 'custom', path: ['loss', 'tripletWeight'], message: 'all loss weights are 0, so nothing would train: give tripletWeight, contrastiveWeight or cosFaceWeight a positive value' });
  }
});

/** model.init face-api-resnet34 needs the input its weights were trained on: RGB 150x150, (rgb - meanRgb) / 255. */
function checkModelInit(config: { model: z.infer<typeof modelSchema>; preprocess: z.infer<typeof preprocessSchema> }, ctx: z.RefinementCtx): void {
  const { model, preprocess } = config;
  const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
  if (model.init !== 'face-api-resnet34') {
    if (model.freeze.length) issue(['model', 'freeze'], 'freezing stages needs model.init face-api-resnet34 (a random model has nothing to keep)');
    return;
  }
  if (model.embeddingDim !== 128) issue(['model', 'embeddingDim'], 'face-api-resnet34 gives 128-d embeddings; set embeddingDim to 128');
  if (new Set(model.freeze).size === 6) issue(['model', 'freeze'], 'every stage is frozen, so nothing would train; leave at least one out');
  if (preprocess.channels !== 3) issue(['preprocess', 'channels'], 'face-api-resnet34 takes RGB input: set channels to 3 (grayscale images are replicated)');
  if (preprocess.resize?.height !== 150 || preprocess.resize.width !== 150) issue(['preprocess', 'resize'], 'face-api-resnet34 takes 150x150 input: set resize to { height: 150, width: 150 }');
  const { mode, mean, std } = preprocess.normalize;
  const faceApiMean = [122.782 / 255, 117.001 / 255, 104.298 / 255];
  const meanOk = mean.length === 3 && mean.every((m, i) => Math.abs(m - (faceApiMean[i] as number)) < 1e-4);
  if (mode !== 'fixed' || !meanOk || !std.every((s) => s === 1)) {
    issue(['preprocess', 'normalize'], `face-api-resnet34 expects face-api's normalisation (rgb - meanRgb) / 255: set { mode: fixed, mean: [${faceApiMean.map((m) => m.toFixed(6)).join(', ')}], std: [1] }`);
  }
}

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
export type ExportConfig = RunConfig['export'];
