// The backbone's options and their validation. Factories check their arguments up front so a bad
// config fails with a sentence naming the field, not with a shape error deep inside tfjs-layers.

import { BadInputError } from '../errors';

export type Architecture = 'resnet18' | 'resnet34' | 'resnet50';
export type Stem = 'standard' | 'light';
export type StageWidths = [number, number, number, number];

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
