// The backbone's options and their validation. Factories check their arguments up front so a bad
// config fails with a sentence naming the field, not with a shape error deep inside tfjs-layers.

import { BadInputError } from '../errors';

export type Architecture = 'resnet18' | 'resnet34' | 'resnet50';
export type Stem = 'standard' | 'light';
export type StageWidths = [number, number, number, number];
/** random: the seeded ResNet; face-api-resnet34: @vladmandic/face-api's descriptor net with its weights. */
export type ModelInit = 'random' | 'face-api-resnet34';

/** Compatible with ModelConfig (src/config/schema.ts) plus the input shape and seed of the run. */
export interface EmbeddingModelOptions {
  architecture: Architecture;
  /** Channel widths of the four stages; standard ResNet is [64, 128, 256, 512]. */
  widths: StageWidths;
  /** standard: 7x7/2 conv + BN + ReLU + 3x3/2 max-pool; light: 3x3/1 conv + BN + ReLU, no pool. */
  stem: Stem;
  embeddingDim: number;
  /** [height, width, channels]: 1 channel for AT&T, 3 for LFW. */
  inputShape: [number, number, number];
  /** Every initial weight is derived from this seed, so two builds with one seed are bit-identical. */
  seed: number;
  /** Default 'random'. face-api-resnet34 ignores architecture, widths, stem and seed. */
  init?: ModelInit;
  /** face-api-resnet34 only: stages whose weights are not trained. */
  freeze?: readonly FaceApiStage[];
}

export const ARCHITECTURES: readonly Architecture[] = ['resnet18', 'resnet34', 'resnet50'];
export const STEMS: readonly Stem[] = ['standard', 'light'];

function describe(value: unknown): string {
  if (typeof value === 'string') return `'${value}' (a string)`;
  if (Array.isArray(value)) return `[${value.map(describe).join(', ')}]`;
  return String(value);
}

function isPositiveInt(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0;
}

function expectPositiveInt(name: string, value: unknown): void {
  if (!isPositiveInt(value)) {
    throw new BadInputError(`Expected ${name} to be a positive integer, but got ${describe(value)}`);
  }
}

function expectOneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): void {
  if (!allowed.includes(value as T)) {
    throw new BadInputError(`Expected ${name} to be one of ${allowed.map((a) => `'${a}'`).join(', ')}, but got ${describe(value)}`);
  }
}

function expectTuple(name: string, value: unknown, length: number, what: string): void {
  if (!Array.isArray(value) || value.length !== length || !value.every(isPositiveInt)) {
    throw new BadInputError(`Expected ${name} to be ${length} positive integers (${what}), but got ${describe(value)}`);
  }
}

/** Throws on the first invalid option; the message names the option and the value received. */
export function validateEmbeddingModelOptions(opts: EmbeddingModelOptions): void {
  if (opts === null || typeof opts !== 'object') {
    throw new BadInputError(`Expected model options to be an object, but got ${describe(opts)}`);
  }
  if (opts.init === 'face-api-resnet34') {
    validateFaceApiOptions(opts);
    return;
  }
  if (opts.freeze?.length) throw new Error(`Expected freeze to be empty for a random model (it needs init 'face-api-resnet34'), but got ${describe(opts.freeze)}`);
  expectOneOf('architecture', opts.architecture, ARCHITECTURES);
  expectTuple('widths', opts.widths, 4, 'the channel widths of the four stages');
  expectOneOf('stem', opts.stem, STEMS);
  expectPositiveInt('embeddingDim', opts.embeddingDim);
  expectTuple('inputShape', opts.inputShape, 3, '[height, width, channels]');
  if (typeof opts.seed !== 'number' || !Number.isInteger(opts.seed) || opts.seed < 0) {
    throw new BadInputError(`Expected seed to be a non-negative integer, but got ${describe(opts.seed)}`);
  }
  // The standard stem divides height and width by 4 and stages 2-4 by 8 more; anything smaller than
  // 32 x 32 (8 x 8 for the light stem) would shrink to nothing before the last stage.
  const minSide = opts.stem === 'standard' ? 32 : 8;
  const [height, width] = opts.inputShape;
  if (height < minSide || width < minSide) {
    throw new BadInputError(
      `Expected inputShape height and width to be at least ${minSide} for the '${opts.stem}' stem, but got ${height} x ${width}`,
    );
  }
}

/** Stages of the face-api net that freeze can name, in order; a layer belongs to the stage its name starts with. */
export const FACE_API_STAGES = ['stem', 'stage1', 'stage2', 'stage3', 'stage4', 'embedding'] as const;
export type FaceApiStage = (typeof FACE_API_STAGES)[number];

function validateFaceApiOptions(opts: EmbeddingModelOptions): void {
  const [height, width, channels] = Array.isArray(opts.inputShape) ? opts.inputShape : [];
  if (height !== 150 || width !== 150 || channels !== 3) {
    throw new Error(`Expected inputShape to be [150, 150, 3] for init 'face-api-resnet34' (preprocess channels 3, resize 150x150), but got ${describe(opts.inputShape)}`);
  }
  if (opts.embeddingDim !== 128) throw new Error(`Expected embeddingDim to be 128 for init 'face-api-resnet34', but got ${describe(opts.embeddingDim)}`);
  const freeze = opts.freeze ?? [];
  const unknown = freeze.filter((s) => !(FACE_API_STAGES as readonly string[]).includes(s));
  if (!Array.isArray(freeze) || unknown.length) {
    throw new Error(`Expected freeze to name stages among ${FACE_API_STAGES.map((s) => `'${s}'`).join(', ')}, but got ${describe(freeze)}`);
  }
}
