// How fast each backend runs one 3x3 convolution, in multiply-accumulates per second, beside PyTorch on
// the same layers in the same run. It bounds what a backend can reach on a whole ResNet: if one wasm
// thread convolves at a third of one PyTorch thread's rate, no amount of work outside the convolutions
// brings wasm's training or embedding above about that fraction.
import * as tf from '@tensorflow/tfjs-core';
import path from 'node:path';
import { median } from './measure';
import { PYTHON } from './torch';
import { spawnSync } from 'node:child_process';

/** ResNet-18 stride-1 3x3 layers at the 112x92 input, batch 16: stages 1-4 (NHWC input, HWIO kernel). */
export const CONV_LAYERS = [
  { name: 'stage1 64->64 28x23', input: [16, 28, 23, 64], kernel: [3, 3, 64, 64] },
  { name: 'stage2 128->128 14x12', input: [16, 14, 12, 128], kernel: [3, 3, 128, 128] },
  { name: 'stage3 256->256 7x6', input: [16, 7, 6, 256], kernel: [3, 3, 256, 256] },
  { name: 'stage4 512->512 4x3', input: [16, 4, 3, 512], kernel: [3, 3, 512, 512] },
] as const;

export interface ConvRate {
  layer: string;
  medianS: number;
  gmacPerS: number;
  /**
   * The rate with a filter the backend has not seen (tfjs only), as in training, where the optimiser replaces
   * every weight each step: tfjs-wasm transposes and packs each new filter before it convolves.
   */
  newFilterGmacPerS?: number;
}

export function macs(layer: (typeof CONV_LAYERS)[number]): number {
  const [n, h, w] = layer.input;
  const [kh, kw, cin, cout] = layer.kernel;
  return n * h * w * kh * kw * cin * cout;
}

/**
 * The active tfjs backend's forward 3x3 convolution rate on each layer (2 warm-up runs, median of 7), with
 * the same filter every call and with a new one (a copy made before the clock starts) every call.
 */
export function measureConvRates(): ConvRate[] {
  const gmac = (layer: (typeof CONV_LAYERS)[number], s: number) => Math.round((macs(layer) / s / 1e9) * 100) / 100;
  return CONV_LAYERS.map((layer) => {
    const x = tf.randomNormal([...layer.input], 0, 1, 'float32', 1) as tf.Tensor4D;
    const w = tf.randomNormal([...layer.kernel], 0, 0.05, 'float32', 2) as tf.Tensor4D;
    const timed = (filter: () => tf.Tensor4D): number => {
      const times: number[] = [];
      for (let i = 0; i < 9; i++) {
        const f = filter();
        const t0 = performance.now();
        tf.tidy(() => void tf.conv2d(x, f, 1, 'same').dataSync());
        if (i >= 2) times.push((performance.now() - t0) / 1000);
        if (f !== w) f.dispose();
      }
      return median(times);
    };
    const s = timed(() => w);
    const fresh = timed(() => tf.add(w, 0) as tf.Tensor4D);
    tf.dispose([x, w]);
    return { layer: layer.name, medianS: s, gmacPerS: gmac(layer, s), newFilterGmacPerS: gmac(layer, fresh) };
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
