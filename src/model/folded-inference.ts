// Inference with BatchNorm folded into the convolution before it. In inference mode BatchNorm is a per-channel
// affine map, so conv -> BN (-> ReLU) is one convolution with scaled filters, a bias and a fused ReLU, and a
// zero-padding layer that only feeds that convolution becomes its explicit padding. On wasm that drops
// BatchNorm's single-threaded passes, the separate ReLUs and the padded copies: a fifth of an embedding batch.
// The model is left as it is: the folded weights are computed once per embedder, from its current weights, and
// the layers that cannot be folded run their own inference code. Embeddings agree with model.apply(x,
// { training: false }) up to float rounding (tested).
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { embedInference } from './embed';

/** Embeds batches with the weights the model had when the embedder was made; dispose it when done. */
export interface InferenceEmbedder {
  embed(images: tf.Tensor4D): tf.Tensor2D;
  dispose(): void;
}

type Layer = tfl.layers.Layer;

interface FoldedConv {
  kernel: tf.Tensor4D;
  bias: tf.Tensor1D;
  strides: [number, number];
  pad: 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
  relu: boolean;
}

/** What each layer does in the folded pass. */
type Step = { kind: 'folded'; conv: FoldedConv } | { kind: 'pass-through' } | { kind: 'own' };

function config(layer: Layer): Record<string, unknown> {
  return layer.getConfig() as Record<string, unknown>;
}

function consumers(layer: Layer): Layer[] {
  return layer.outboundNodes.map((n) => n.outboundLayer);
}

function onlyConsumer(layer: Layer): Layer | null {
  const all = consumers(layer);
  return all.length === 1 ? (all[0] as Layer) : null;
}

function inbound(layer: Layer): Layer[] {
  return layer.inboundNodes[0]?.inboundLayers ?? [];
}

/** A bias-free, activation-free, channels-last 2-D convolution without dilation: the kind BatchNorm folds into. */
function isPlainConv(layer: Layer): boolean {
  const c = config(layer);
  const dilation = c['dilationRate'];
  const undilated = dilation === 1 || (Array.isArray(dilation) && dilation.every((d) => d === 1));
  return layer.getClassName() === 'Conv2D' && c['useBias'] === false && c['activation'] === 'linear' && c['dataFormat'] === 'channelsLast' && undilated;
}

function isFoldableBatchNorm(layer: Layer): boolean {
  const c = config(layer);
  const axis = c['axis'];
  return layer.getClassName() === 'BatchNormalization' && (axis === -1 || axis === 3) && c['center'] === true && c['scale'] === true;
}

function isRelu(layer: Layer): boolean {
  return layer.getClassName() === 'Activation' && config(layer)['activation'] === 'relu';
}

/** A zero padding that feeds only `conv`, which convolves 'valid': it becomes the convolution's padding. */
function absorbablePadding(conv: Layer): Layer | null {
  const [source] = inbound(conv);
  if (!source || source.getClassName() !== 'ZeroPadding2D' || onlyConsumer(source) !== conv) return null;
  if (config(conv)['padding'] !== 'valid' || config(source)['dataFormat'] !== 'channelsLast') return null;
  return source;
}

/** scale = gamma / sqrt(var + eps); kernel' = kernel * scale per output channel; bias = beta - mean * scale. */
function foldWeights(conv: Layer, bn: Layer): { kernel: tf.Tensor4D; bias: tf.Tensor1D } {
  return tf.tidy(() => {
    const [gamma, beta, mean, variance] = bn.weights.map((w) => w.read());
    const kernel = conv.weights[0]?.read();
    if (!gamma || !beta || !mean || !variance || !kernel) throw new Error(`Internal error: cannot fold '${bn.name}' into '${conv.name}'.`);
    const scale = tf.mul(gamma, tf.rsqrt(tf.add(variance, config(bn)['epsilon'] as number)));
    return { kernel: tf.mul(kernel, scale) as tf.Tensor4D, bias: tf.sub(beta, tf.mul(mean, scale)) as tf.Tensor1D };
  });
}

function plan(model: tfl.LayersModel): Map<Layer, Step> | null {
  // One input, one output, every layer called once: the graph can be walked layer by layer.
  if (model.inputs.length !== 1 || model.outputs.length !== 1 || model.layers.some((l) => l.inboundNodes.length !== 1)) return null;
  const steps = new Map<Layer, Step>(model.layers.map((l) => [l, { kind: 'own' } as Step]));
  for (const layer of model.layers) {
    const bn = onlyConsumer(layer);
    if (!isPlainConv(layer) || !bn || !isFoldableBatchNorm(bn)) continue;
    const next = onlyConsumer(bn);
    const relu = next !== null && isRelu(next);
    const padding = absorbablePadding(layer);
    const c = config(layer);
    let pad: FoldedConv['pad'] = c['padding'] as 'same' | 'valid';
    if (padding) {
      const [[top, bottom], [left, right]] = config(padding)['padding'] as [[number, number], [number, number]];
      pad = [[0, 0], [top, bottom], [left, right], [0, 0]];
      steps.set(padding, { kind: 'pass-through' });
    }
    steps.set(layer, { kind: 'folded', conv: { ...foldWeights(layer, bn), strides: c['strides'] as [number, number], pad, relu } });
    steps.set(bn, { kind: 'pass-through' });
    if (relu) steps.set(next, { kind: 'pass-through' });
  }
  return steps;
}

/**
 * An embedder for `model` in inference mode with its BatchNorm layers folded into their convolutions. Models
 * whose graph it cannot walk (several inputs or outputs, shared layers) embed with embedInference instead.
 */
export function foldedEmbedder(model: tfl.LayersModel): InferenceEmbedder {
  const steps = plan(model);
  if (!steps) return { embed: (x) => embedInference(model, x), dispose: () => undefined };
  const input = model.inputLayers[0] as Layer;
  const output = model.outputLayers[0] as Layer;
  return {
    embed: (images) =>
      tf.tidy(() => {
        const values = new Map<Layer, tf.Tensor>([[input, images]]);
        for (const layer of model.layers) {
          if (layer === input) continue;
          const args = inbound(layer).map((l) => values.get(l) as tf.Tensor);
          const step = steps.get(layer) as Step;
          let value: tf.Tensor;
          if (step.kind === 'pass-through') {
            value = args[0] as tf.Tensor;
          } else if (step.kind === 'folded') {
            const { kernel, bias, strides, pad, relu } = step.conv;
            value = tf.fused.conv2d({ x: args[0] as tf.Tensor4D, filter: kernel, strides, pad, bias, activation: relu ? 'relu' : 'linear' });
          } else {
            value = layer.apply(args.length === 1 ? (args[0] as tf.Tensor) : args, { training: false }) as tf.Tensor;
          }
          values.set(layer, value);
        }
        return values.get(output) as tf.Tensor2D;
      }),
    dispose: () => {
      for (const step of steps.values()) if (step.kind === 'folded') tf.dispose([step.conv.kernel, step.conv.bias]);
    },
  };
}
