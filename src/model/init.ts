// Seeded initialisers, following torchvision's ResNet so a run starts where the reference does:
// - conv kernels: Kaiming/He normal with mode fan_out and ReLU gain, std = sqrt(2 / (k * k * outChannels)),
//   a plain (not truncated) normal, as torchvision's kaiming_normal_(mode='fan_out', nonlinearity='relu');
// - BatchNorm: gamma 1, beta 0 (tfjs defaults);
// - the Dense head: U(-1/sqrt(fanIn), 1/sqrt(fanIn)) for kernel and bias, as torch.nn.Linear's default.
// Each layer's seed is deriveSeed(modelSeed, hash(layerName)), so a layer's initial weights depend only on
// the model seed and its own name: building twice gives bit-identical weights, and adding a layer does not
// reshuffle the others. The generator itself is tfjs' seeded one (pure JS), identical on every backend.
import * as tfl from '@tensorflow/tfjs-layers';
import { deriveSeed } from '../util/rng';

/** FNV-1a over the UTF-16 code units: a stable 32-bit number for a layer name. */
export function hashName(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export function layerSeed(modelSeed: number, layerName: string): number {
  return deriveSeed(modelSeed, hashName(layerName));
}

export function heNormalFanOut(modelSeed: number, layerName: string, kernelSize: number, outChannels: number) {
  const stddev = Math.sqrt(2 / (kernelSize * kernelSize * outChannels));
  return tfl.initializers.randomNormal({ mean: 0, stddev, seed: layerSeed(modelSeed, layerName) });
}

export function torchLinearUniform(modelSeed: number, layerName: string, fanIn: number) {
  const limit = 1 / Math.sqrt(fanIn);
  return tfl.initializers.randomUniform({ minval: -limit, maxval: limit, seed: layerSeed(modelSeed, layerName) });
}
