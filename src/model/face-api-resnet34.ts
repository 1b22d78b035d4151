// model.init 'face-api-resnet34': the 128-d face descriptor of @vladmandic/face-api (a port of dlib's
// dlib_face_recognition_resnet_model_v1) as a trainable tfjs-layers model, with the weights the package ships.
//
// The layout is face-api's FaceRecognitionNet (src/faceRecognitionNet/ in the package), layer for layer:
//   input 150x150x3, already normalised as (rgb - meanRgb) / 255 (preprocess.normalize does that, see
//   FACE_API_NORMALIZATION);
//   stem:    7x7/2 'valid' conv (32) + scale + ReLU, 3x3/2 'valid' max-pool (150 -> 72 -> 35);
//   stage1:  3 residual blocks of 32;  stage2: a down block + 3 blocks of 64;
//   stage3:  a down block + 2 blocks of 128;  stage4: a down block + 2 blocks of 256 + a last down block;
//   a block: 3x3 conv + scale + ReLU, 3x3 conv + scale, + identity, ReLU;
//   a down block: the first conv is 3x3/2 'valid'; the shortcut is a 2x2/2 average pool whose channels are
//     zero-padded to the block's width; where the conv's output is one pixel smaller than the pool's (8 -> 3
//     against 4, 4 -> 1 against 2) face-api pads it with a zero row at the bottom and column at the right;
//   global average pool, then a 256x128 matrix without bias.
// Every conv of face-api has a bias and is followed by a per-channel affine "scale" layer (dlib's frozen
// BatchNorm): conv(x, W) + b, then * s + t. That is one convolution, conv(x, W * s) + (b * s + t), so each is
// built as one stock Conv2D with those folded weights: the same function up to float rounding (tested against
// face-api itself), and the model saves, loads and trains as stock layers plus two small custom ones.
//
// The descriptor itself is not normalised (dlib compares raw descriptors, threshold 0.6). Like every embedding
// model of this project, the model ends with L2Normalize: the training loss, flip TTA and the evaluation all
// assume unit vectors. The raw descriptor is the output of the layer named DESCRIPTOR_LAYER.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { L2Normalize } from './l2-normalize';
import type { FaceApiStage } from './options';
import { ZeroPadChannels } from './zero-pad-channels';

type SymbolicTensor = tfl.SymbolicTensor;

export const FACE_API_PACKAGE = '@vladmandic/face-api';
export const FACE_API_INPUT_SHAPE: [number, number, number] = [150, 150, 3];
export const FACE_API_EMBEDDING_DIM = 128;
/** face-api's meanRgb, subtracted from 0..255 pixels before dividing by 255. */
export const FACE_API_MEAN_RGB = [122.782, 117.001, 104.298] as const;
/** The same as preprocess.normalize (pixel = (x / 255 - mean) / std). */
export const FACE_API_NORMALIZATION = { mean: FACE_API_MEAN_RGB.map((m) => m / 255), std: [1, 1, 1] };
/** The layer whose output is face-api's (un-normalised) descriptor. */
export const DESCRIPTOR_LAYER = 'embedding';

const MANIFEST = 'face_recognition_model-weights_manifest.json';

export interface FaceApiResNet34Options {
  /** Stages whose weights are not trained. */
  freeze?: readonly FaceApiStage[];
  /** Folder with the weights manifest and .bin; default: the installed package's model/. */
  modelDir?: string;
}

/** The model/ folder of the installed @vladmandic/face-api. */
export function faceApiWeightsDir(): string {
  let pkg: string;
  try {
    pkg = require.resolve(`${FACE_API_PACKAGE}/package.json`);
  } catch {
    throw new Error(`model.init face-api-resnet34 needs the package ${FACE_API_PACKAGE} (its weights); it is a dependency of this project: run npm install.`);
  }
  return path.join(path.dirname(pkg), 'model');
}

/**
 * The recognition net's weights by name (face-api's names, e.g. 'conv32_1/conv1/conv/filters'), dequantised
 * by tfjs' own decodeWeights, which face-api's loader uses too (uint8 value * scale + min).
 */
export function loadFaceApiWeights(modelDir: string = faceApiWeightsDir()): tf.NamedTensorMap {
  const manifestPath = path.join(modelDir, MANIFEST);
  let manifest: tf.io.WeightsManifestConfig;
  try {
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as tf.io.WeightsManifestConfig;
  } catch (err) {
    throw new Error(`model.init face-api-resnet34: cannot read ${manifestPath} (${(err as Error).message}); reinstall ${FACE_API_PACKAGE}.`);
  }
  const specs = manifest.flatMap((group) => group.weights);
  const buffers = manifest.flatMap((group) => group.paths.map((p) => readFileSync(path.join(modelDir, p))));
  const joined = Buffer.concat(buffers);
  const data = joined.buffer.slice(joined.byteOffset, joined.byteOffset + joined.byteLength) as ArrayBuffer;
  return tf.io.decodeWeights(data, specs);
}

interface Builder {
  weights: tf.NamedTensorMap;
  /** Weights created for the model; the source map is disposed after the build. */
  used: Set<string>;
}

function apply(layer: tfl.layers.Layer, x: SymbolicTensor | SymbolicTensor[]): SymbolicTensor {
  return layer.apply(x) as SymbolicTensor;
}

function take(b: Builder, name: string): tf.Tensor {
  const t = b.weights[name];
  if (!t) throw new Error(`model.init face-api-resnet34: the weights have no '${name}'; is ${FACE_API_PACKAGE} 1.7.x installed?`);
  b.used.add(name);
  return t;
}

/** conv(x, W) + b, then * s + t, as one conv: kernel W * s, bias b * s + t. */
function foldedConv(b: Builder, source: string): [tf.Tensor4D, tf.Tensor1D] {
  return tf.tidy(() => {
    const filters = take(b, `${source}/conv/filters`);
    const bias = take(b, `${source}/conv/bias`);
    const s = take(b, `${source}/scale/weights`);
    const t = take(b, `${source}/scale/biases`);
    return [tf.mul(filters, s) as tf.Tensor4D, tf.add(tf.mul(bias, s), t) as tf.Tensor1D];
  });
}

/** face-api's convLayer: conv (+ bias + scale) (+ ReLU). */
function convLayer(b: Builder, x: SymbolicTensor, source: string, name: string, strides: number, padding: 'same' | 'valid', relu: boolean): SymbolicTensor {
  const [kernel, bias] = foldedConv(b, source);
  const layer = tfl.layers.conv2d({
    filters: kernel.shape[3],
    kernelSize: [kernel.shape[0], kernel.shape[1]],
    strides,
    padding,
    useBias: true,
    kernelInitializer: 'zeros',
    name,
  });
  const y = apply(layer, x);
  layer.setWeights([kernel, bias]);
  tf.dispose([kernel, bias]);
  return relu ? apply(tfl.layers.activation({ activation: 'relu', name: `${name}_relu` }), y) : y;
}

/** face-api's residual (down = false) and residualDown. */
function block(b: Builder, x: SymbolicTensor, source: string, name: string, down: boolean): SymbolicTensor {
  let out = convLayer(b, x, `${source}/conv1`, `${name}_conv1`, down ? 2 : 1, down ? 'valid' : 'same', true);
  out = convLayer(b, out, `${source}/conv2`, `${name}_conv2`, 1, 'same', false);
  let shortcut = x;
  if (down) {
    shortcut = apply(tfl.layers.averagePooling2d({ poolSize: 2, strides: 2, padding: 'valid', name: `${name}_pool` }), x);
    const [, ph, pw, pc] = shortcut.shape as number[];
    const [, oh, ow, oc] = out.shape as number[];
    if (pc !== oc) shortcut = apply(new ZeroPadChannels({ channels: (oc as number) - (pc as number), name: `${name}_pool_pad` }), shortcut);
    if (ph !== oh || pw !== ow) {
      // face-api appends one zero row and one zero column (it never needs more at 150x150).
      out = apply(tfl.layers.zeroPadding2d({ padding: [[0, (ph as number) - (oh as number)], [0, (pw as number) - (ow as number)]], name: `${name}_conv2_pad` }), out);
    }
  }
  const sum = apply(tfl.layers.add({ name: `${name}_add` }), [out, shortcut]);
  return apply(tfl.layers.activation({ activation: 'relu', name: `${name}_out` }), sum);
}

/** face-api's blocks in order: [its weight prefix, our stage, down block?]. */
const BLOCKS: [string, FaceApiStage, boolean][] = [
  ['conv32_1', 'stage1', false], ['conv32_2', 'stage1', false], ['conv32_3', 'stage1', false],
  ['conv64_down', 'stage2', true], ['conv64_1', 'stage2', false], ['conv64_2', 'stage2', false], ['conv64_3', 'stage2', false],
  ['conv128_down', 'stage3', true], ['conv128_1', 'stage3', false], ['conv128_2', 'stage3', false],
  ['conv256_down', 'stage4', true], ['conv256_1', 'stage4', false], ['conv256_2', 'stage4', false], ['conv256_down_out', 'stage4', true],
];

/**
 * Builds the descriptor net with face-api's weights, followed by L2Normalize. Input [150, 150, 3] normalised as
 * FACE_API_NORMALIZATION; output [batch, 128] unit vectors (the raw descriptor is layer DESCRIPTOR_LAYER).
 */
export function buildFaceApiResNet34(opts: FaceApiResNet34Options = {}): tfl.LayersModel {
  const b: Builder = { weights: loadFaceApiWeights(opts.modelDir), used: new Set() };
  try {
    const input = tfl.input({ shape: [...FACE_API_INPUT_SHAPE], name: 'image' });
    let x = convLayer(b, input, 'conv32_down', 'stem_conv', 2, 'valid', true);
    x = apply(tfl.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'valid', name: 'stem_pool' }), x);
    const counts = new Map<string, number>();
    for (const [source, stage, down] of BLOCKS) {
      const n = (counts.get(stage) ?? 0) + 1;
      counts.set(stage, n);
      x = block(b, x, source, `${stage}_block${n}`, down);
    }
    const pooled = apply(tfl.layers.globalAveragePooling2d({ name: 'avg_pool' }), x);
    const fc = take(b, 'fc');
    const dense = tfl.layers.dense({ units: fc.shape[1] as number, useBias: false, kernelInitializer: 'zeros', name: DESCRIPTOR_LAYER });
    const descriptor = apply(dense, pooled);
    dense.setWeights([fc]);
    const output = apply(new L2Normalize({ name: 'l2_normalize' }), descriptor);
    const unused = Object.keys(b.weights).filter((k) => !b.used.has(k));
    if (unused.length) throw new Error(`model.init face-api-resnet34: weights not placed in the model: ${unused.join(', ')}`);
    const model = tfl.model({ inputs: input, outputs: output, name: 'face_api_resnet34_embedding' });
    freezeStages(model, opts.freeze ?? []);
    return model;
  } finally {
    tf.dispose(Object.values(b.weights));
  }
}

/** Marks the layers of the named stages as not trainable (their weights stay as loaded). */
export function freezeStages(model: tfl.LayersModel, stages: readonly FaceApiStage[]): void {
  for (const layer of model.layers) {
    if (stages.some((s) => layer.name === s || layer.name.startsWith(`${s}_`))) layer.trainable = false;
  }
}
