// Forward passes for training and inference. tfjs-layers' fit() is not used by the custom triplet-loss
// loop, so BatchNorm's mode must be chosen explicitly: training mode normalises with the batch statistics
// AND updates the moving mean/variance (tfjs-layers does this imperatively inside BatchNormalization.call,
// so it also happens inside tf.variableGrads); inference mode normalises with the moving statistics.
import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

/** Embeddings in training mode (batch statistics; updates BN moving statistics). Call inside the loss closure. */
export function embedTraining(model: tfl.LayersModel, images: tf.Tensor4D): tf.Tensor2D {
  return model.apply(images, { training: true }) as tf.Tensor2D;
}

/** Embeddings in inference mode (moving statistics; changes nothing). */
export function embedInference(model: tfl.LayersModel, images: tf.Tensor4D): tf.Tensor2D {
  return model.apply(images, { training: false }) as tf.Tensor2D;
}
