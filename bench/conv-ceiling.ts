// How fast each backend runs one 3x3 convolution, in multiply-accumulates per second, beside PyTorch on
// the same layers in the same run. It bounds what a backend can reach on a whole ResNet: if one wasm
// thread convolves at a third of one PyTorch thread's rate, no amount of work outside the convolutions
// brings wasm's training or embedding above about that fraction.
import * as tf from '@tensorflow/tfjs-core';
import path from 'node:path';
import { median } from './measure';
import { PYTHON } from './torch';
import { spawnSync } from 'node:child_process';

/** ResNet-18 stride-1 3x3 layers at the 112x92 input, batch 16: stage 1, 2 and 3 (NHWC input, HWIO kernel). */
export const CONV_LAYERS = [
  { name: 'stage1 64->64 28x23', input: [16, 28, 23, 64], kernel: [3, 3, 64, 64] },
  { name: 'stage2 128->128 14x12', input: [16, 14, 12, 128], kernel: [3, 3, 128, 128] },
  { name: 'stage3 256->256 7x6', input: [16, 7, 6, 256], kernel: [3, 3, 256, 256] },
] as const;

export interface ConvRate {
  layer: string;
  medianS: number;
  gmacPerS: number;
}

export function macs(layer: (typeof CONV_LAYERS)[number]): number {
  const [n, h, w] = layer.input;
  const [kh, kw, cin, cout] = layer.kernel;
  return n * h * w * kh * kw * cin * cout;
}

/** The active tfjs backend's forward 3x3 convolution rate on each layer (2 warm-up runs, median of 7). */
export function measureConvRates(): ConvRate[] {
  return CONV_LAYERS.map((layer) => {
    const x = tf.randomNormal([...layer.input], 0, 1, 'float32', 1) as tf.Tensor4D;
    const w = tf.randomNormal([...layer.kernel], 0, 0.05, 'float32', 2) as tf.Tensor4D;
    const once = () => tf.tidy(() => void tf.conv2d(x, w, 1, 'same').dataSync());
    once();
    once();
    const times: number[] = [];
    for (let i = 0; i < 7; i++) {
      const t0 = performance.now();
      once();
      times.push((performance.now() - t0) / 1000);
    }
    tf.dispose([x, w]);
    const s = median(times);
    return { layer: layer.name, medianS: s, gmacPerS: Math.round((macs(layer) / s / 1e9) * 100) / 100 };
  });
}

/** PyTorch's rate on the same layers with the given thread count (bench/conv_ceiling.py). */
export function measureTorchConvRates(threads: number): ConvRate[] {
  const script = path.join(__dirname, 'conv_ceiling.py');
  const layers = JSON.stringify(CONV_LAYERS.map((l) => ({ name: l.name, input: l.input, kernel: l.kernel })));
  const r = spawnSync(PYTHON, [script, '--threads', String(threads), '--layers', layers], { encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`conv_ceiling.py failed: ${(r.stderr || r.error?.message || '').trim().split('\n').pop()}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '[]') as ConvRate[];
}
