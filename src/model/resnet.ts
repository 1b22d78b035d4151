// ResNet backbones with an L2-normalised embedding head, built with the tfjs-layers functional API.
// The layout follows torchvision (v1.5: the bottleneck strides in its 3x3 conv), so parameter counts and
// feature-map alignment match the PyTorch reference. Layer names are prefixed by their block
// ("stage2_block1_conv1", "stage2_block1_down_bn", ...) so checkpoints and summaries stay readable.
import * as tfl from '@tensorflow/tfjs-layers';
import { FusedBatchNormalization } from './batch-norm';
import { GradientSparingConv2D } from './conv';
import { heNormalFanOut, torchLinearUniform } from './init';
import { buildFaceApiResNet34 } from './face-api-resnet34';
import { L2Normalize } from './l2-normalize';
import { type Architecture, type EmbeddingModelOptions, validateEmbeddingModelOptions } from './options';

type SymbolicTensor = tfl.SymbolicTensor;

interface ArchitectureSpec {
  block: 'basic' | 'bottleneck';
  /** Blocks per stage. */
  depths: [number, number, number, number];
}

const SPECS: Record<Architecture, ArchitectureSpec> = {
  resnet18: { block: 'basic', depths: [2, 2, 2, 2] },
  resnet34: { block: 'basic', depths: [3, 4, 6, 3] },
  resnet50: { block: 'bottleneck', depths: [3, 4, 6, 3] },
};

/** Bottleneck blocks widen their output by this factor (torchvision's Bottleneck.expansion). */
const BOTTLENECK_EXPANSION = 4;
/** torch's BatchNorm2d: eps 1e-5, running stats updated with weight 0.1 (Keras momentum 0.9). */
const BN_EPSILON = 1e-5;
const BN_MOMENTUM = 0.9;

interface Builder {
  seed: number;
}

function apply(layer: tfl.layers.Layer, x: SymbolicTensor | SymbolicTensor[]): SymbolicTensor {
  return layer.apply(x) as SymbolicTensor;
}

/**
 * A bias-free conv with torch's symmetric padding (k - 1) / 2. For stride 1, 'same' is exactly that; for
 * stride 2, tfjs 'same' would pad only bottom/right and shift the sampling grid by one pixel, so we pad
 * explicitly and convolve 'valid'.
 */
function conv(b: Builder, x: SymbolicTensor, filters: number, kernelSize: number, strides: number, name: string): SymbolicTensor {
  const pad = (kernelSize - 1) / 2;
  let input = x;
  let padding: 'same' | 'valid' = 'same';
  if (strides > 1 && pad > 0) {
    input = apply(tfl.layers.zeroPadding2d({ padding: pad, name: `${name}_pad` }), x);
    padding = 'valid';
  }
  return apply(
    new GradientSparingConv2D({
      filters,
      kernelSize,
      strides,
      padding,
      useBias: false,
      kernelInitializer: heNormalFanOut(b.seed, name, kernelSize, filters),
      name,
    }),
    input,
  );
}

function batchNorm(x: SymbolicTensor, name: string): SymbolicTensor {
  return apply(new FusedBatchNormalization({ axis: -1, momentum: BN_MOMENTUM, epsilon: BN_EPSILON, name }), x);
}

function relu(x: SymbolicTensor, name: string): SymbolicTensor {
  return apply(tfl.layers.activation({ activation: 'relu', name }), x);
}

/** conv -> BN (-> ReLU): the unit every block is made of. */
function convBn(b: Builder, x: SymbolicTensor, filters: number, k: number, s: number, prefix: string, suffix: string, withRelu: boolean): SymbolicTensor {
  const y = batchNorm(conv(b, x, filters, k, s, `${prefix}_conv${suffix}`), `${prefix}_bn${suffix}`);
  return withRelu ? relu(y, `${prefix}_relu${suffix}`) : y;
}

/**
 * One residual block: the branch (basic: two 3x3 convs; bottleneck: 1x1 -> 3x3 (strided) -> 1x1 x4),
 * plus the identity, or a 1x1 strided conv + BN when the shape changes, then ReLU.
 */
export function residualBlock(
  b: Builder,
  x: SymbolicTensor,
  kind: 'basic' | 'bottleneck',
  width: number,
  stride: number,
  name: string,
): SymbolicTensor {
  const inChannels = x.shape[x.shape.length - 1];
  const outChannels = kind === 'basic' ? width : width * BOTTLENECK_EXPANSION;
  let branch: SymbolicTensor;
  if (kind === 'basic') {
    branch = convBn(b, x, width, 3, stride, name, '1', true);
    branch = convBn(b, branch, width, 3, 1, name, '2', false);
  } else {
    branch = convBn(b, x, width, 1, 1, name, '1', true);
    branch = convBn(b, branch, width, 3, stride, name, '2', true);
    branch = convBn(b, branch, outChannels, 1, 1, name, '3', false);
  }
  const shortcut = stride !== 1 || inChannels !== outChannels
    ? batchNorm(conv(b, x, outChannels, 1, stride, `${name}_down_conv`), `${name}_down_bn`)
    : x;
  const sum = apply(tfl.layers.add({ name: `${name}_add` }), [branch, shortcut]);
  return relu(sum, `${name}_out`);
}

function stem(b: Builder, x: SymbolicTensor, kind: EmbeddingModelOptions['stem'], width: number): SymbolicTensor {
  if (kind === 'light') {
    return convBn(b, x, width, 3, 1, 'stem', '', true);
  }
  const y = convBn(b, x, width, 7, 2, 'stem', '', true);
  // torch pads the max-pool with -inf; after a ReLU every value is >= 0, so zero padding is equivalent.
  const padded = apply(tfl.layers.zeroPadding2d({ padding: 1, name: 'stem_pool_pad' }), y);
  return apply(tfl.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'valid', name: 'stem_pool' }), padded);
}

/**
 * Builds backbone + global average pool + Dense(embeddingDim) + L2 normalisation; with init
 * 'face-api-resnet34', face-api's descriptor net with its weights (+ L2 normalisation) instead.
 * Output: [batch, embeddingDim] unit vectors. Throws "Expected X ..., but got ..." on bad options.
 */
export function buildEmbeddingModel(opts: EmbeddingModelOptions): tfl.LayersModel {
  validateEmbeddingModelOptions(opts);
  if (opts.init === 'face-api-resnet34') return buildFaceApiResNet34({ freeze: opts.freeze ?? [] });
  const spec = SPECS[opts.architecture];
  const b: Builder = { seed: opts.seed };
  const input = tfl.input({ shape: [...opts.inputShape], name: 'image' });
  let x = stem(b, input, opts.stem, opts.widths[0]);
  spec.depths.forEach((depth, stageIndex) => {
    const width = opts.widths[stageIndex] as number;
    for (let blockIndex = 0; blockIndex < depth; blockIndex++) {
      const stride = stageIndex > 0 && blockIndex === 0 ? 2 : 1;
      x = residualBlock(b, x, spec.block, width, stride, `stage${stageIndex + 1}_block${blockIndex + 1}`);
    }
  });
  const pooled = apply(tfl.layers.globalAveragePooling2d({ name: 'avg_pool' }), x);
  const features = pooled.shape[pooled.shape.length - 1] as number;
  const dense = apply(
    tfl.layers.dense({
      units: opts.embeddingDim,
      kernelInitializer: torchLinearUniform(opts.seed, 'embedding/kernel', features),
      biasInitializer: torchLinearUniform(opts.seed, 'embedding/bias', features),
      name: 'embedding',
    }),
    pooled,
  );
  const output = apply(new L2Normalize({ name: 'l2_normalize' }), dense);
  return tfl.model({ inputs: input, outputs: output, name: `${opts.architecture}_embedding` });
}
