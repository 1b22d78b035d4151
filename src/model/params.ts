// Parameter counting, to compare with the PyTorch reference (which counts requires_grad tensors only:
// conv and Dense weights, BN gamma and beta, but not BN running statistics).
import type * as tfl from '@tensorflow/tfjs-layers';

export function countTrainableParams(model: tfl.LayersModel): number {
  let total = 0;
  for (const weight of model.trainableWeights) {
    total += weight.shape.reduce((product: number, d) => product * (d ?? 1), 1);
  }
  return total;
}
