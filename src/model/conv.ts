// tfjs-layers' Conv2D, except that in training mode a bias-free, activation-free convolution runs as plain
// tf.conv2d. tfjs-layers always calls fused.conv2d, whose gradient computes the input gradient and the
// weight gradient together, even when the input needs none: for the stem that is the image, and its input
// gradient was the single most expensive backward convolution of an att-cpu step (12 of ~210 ms on the native
// backend). tf.conv2d's gradient computes each only when asked. Inference keeps the stock code; serialised
// models say 'Conv2D' and load as the stock layer.
import * as tf from '@tensorflow/tfjs-core';
import type { Conv2D } from '@tensorflow/tfjs-layers/dist/layers/convolutional';
import type { Kwargs } from '@tensorflow/tfjs-layers/dist/types';
import type { LayerVariable } from '@tensorflow/tfjs-layers/dist/variables';
import { stockLayerClass } from './stock-layer';

/** The stock layer's state, private or protected in its type declarations. */
interface ConvState {
  rank: number;
  kernel: LayerVariable;
  bias: LayerVariable | null;
  strides: number[];
  padding: string;
  dataFormat: string;
  dilationRate: number[];
  activation: { getClassName(): string };
}

export class GradientSparingConv2D extends stockLayerClass<typeof Conv2D>('Conv2D') {
  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[] {
    const input = Array.isArray(inputs) ? inputs[0] : inputs;
    const s = this as unknown as ConvState;
    const plain = s.rank === 2 && s.bias == null && s.dataFormat === 'channelsLast' && s.activation.getClassName() === 'linear';
    if (kwargs['training'] !== true || !plain || !input || input.rank !== 4 || (s.padding !== 'same' && s.padding !== 'valid')) {
      return super.call(inputs, kwargs);
    }
    return tf.tidy(() =>
      tf.conv2d(input as tf.Tensor4D, s.kernel.read() as tf.Tensor4D, s.strides as [number, number], s.padding as 'same' | 'valid', 'NHWC', s.dilationRate as [number, number]),
    );
  }
}
