// tfjs-layers' BatchNormalization, except that in training mode on the native and wasm backends it
// normalises with one fused kernel forward and one backward instead of ~47
// (src/backend/ops/batch-norm-training.ts). Every other case (inference, the cpu backend) is the stock
// layer's code. Serialised models say 'BatchNormalization' and load as the stock layer, so exported
// models need nothing of this module.
import * as tf from '@tensorflow/tfjs-core';
import type { BatchNormalization } from '@tensorflow/tfjs-layers/dist/layers/normalization';
import type { Kwargs } from '@tensorflow/tfjs-layers/dist/types';
import type { LayerVariable } from '@tensorflow/tfjs-layers/dist/variables';
import { batchNormTraining } from '../backend';
import { updateMovingAverage } from './moving-averages';
import { stockLayerClass } from './stock-layer';

/** The stock layer's state, private in its type declarations. */
interface BatchNormState {
  axis: number;
  momentum: number;
  epsilon: number;
  gamma?: LayerVariable;
  beta?: LayerVariable;
  movingMean: LayerVariable;
  movingVariance: LayerVariable;
}

export class FusedBatchNormalization extends stockLayerClass<typeof BatchNormalization>('BatchNormalization') {
  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[] {
    const input = Array.isArray(inputs) ? inputs[0] : inputs;
    const state = this as unknown as BatchNormState;
    const lastAxis = state.axis === -1 || state.axis === 3;
    if (kwargs['training'] !== true || !input || input.rank !== 4 || !lastAxis || !state.gamma || !state.beta) {
      return super.call(inputs, kwargs);
    }
    return tf.tidy(() => {
      const fused = batchNormTraining(input as tf.Tensor4D, state.gamma!.read() as tf.Tensor1D, state.beta!.read() as tf.Tensor1D, state.epsilon);
      if (!fused) return super.call(inputs, kwargs) as tf.Tensor;
      updateMovingAverage(state.movingMean, fused.mean, state.momentum);
      updateMovingAverage(state.movingVariance, fused.variance, state.momentum, fused.varianceScale);
      return fused.y;
    });
  }
}
