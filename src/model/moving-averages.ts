// BatchNorm's moving statistics, updated the way tfjs-layers does it (moving - (moving - batch) * (1 - momentum)).
// Each update is three tiny kernels, and a ResNet-18 has two per BatchNorm layer: 120 kernels a training
// step, a few per cent of a narrow net's step on the native backend, where every kernel costs tens of
// microseconds to dispatch whatever its size. Inside withBatchedMovingAverages the updates of a whole
// forward pass wait and then run together over the concatenated statistics: six kernels. The arithmetic is
// the same element for element, so the statistics come out bit for bit as if each layer had updated its own.
import * as tf from '@tensorflow/tfjs-core';
import type { LayerVariable } from '@tensorflow/tfjs-layers/dist/variables';

interface PendingUpdate {
  variable: LayerVariable;
  /** The batch statistic, kept alive past its layer's tidy until the update runs. */
  value: tf.Tensor;
  momentum: number;
  /** The value times this is the batch statistic (1, or the (N - 1) / N that turns an unbiased variance biased). */
  scale: number;
}

let pending: PendingUpdate[] | null = null;

/**
 * Runs `forward` with every moving-average update it causes deferred, then applies them all at once.
 * If `forward` throws, no deferred update is applied. Nested calls defer to the outermost one.
 */
export function withBatchedMovingAverages<T>(forward: () => T): T {
  if (pending) return forward();
  const queue: PendingUpdate[] = [];
  pending = queue;
  try {
    const result = forward();
    applyUpdates(queue);
    return result;
  } finally {
    pending = null;
    queue.forEach((u) => u.value.dispose());
    queue.length = 0;
  }
}

/**
 * moving <- moving - (moving - value * scale) * (1 - momentum): now, or with the batch when one is open. The scale is
 * rounded to float32 and multiplied in as tf.mul(value, scale) would: the same product, one kernel for the batch.
 */
export function updateMovingAverage(variable: LayerVariable, value: tf.Tensor, momentum: number, scale = 1): void {
  if (!pending) {
    applyUpdates([{ variable, value, momentum, scale }]);
    return;
  }
  // A layer called twice in one pass updates twice, the second on top of the first: apply what waits first.
  if (pending.some((u) => u.variable === variable)) {
    applyUpdates(pending);
    pending.forEach((u) => u.value.dispose());
    pending.length = 0;
  }
  pending.push({ variable, value: tf.keep(value), momentum, scale });
}

function applyUpdates(updates: PendingUpdate[]): void {
  const byMomentum = new Map<number, PendingUpdate[]>();
  for (const u of updates) byMomentum.set(u.momentum, [...(byMomentum.get(u.momentum) ?? []), u]);
  for (const [momentum, group] of byMomentum) {
    tf.tidy(() => {
      const moving = concatFlat(group.map((u) => u.variable.read()));
      let batch = concatFlat(group.map((u) => u.value));
      if (group.some((u) => u.scale !== 1)) {
        const scales = new Float32Array(batch.size);
        let offset = 0;
        for (const u of group) {
          scales.fill(u.scale, offset, offset + u.value.size);
          offset += u.value.size;
        }
        batch = tf.mul(batch, tf.tensor1d(scales, 'float32'));
      }
      const updated = tf.sub(moving, tf.mul(tf.sub(moving, batch), 1 - momentum));
      const pieces = group.length === 1 ? [updated] : tf.split(updated, group.map((u) => u.value.size));
      group.forEach((u, i) => u.variable.write(withShape(pieces[i] as tf.Tensor, u.variable.shape as number[])));
    });
  }
}

function withShape(t: tf.Tensor, shape: number[]): tf.Tensor {
  return t.shape.length === shape.length && t.shape.every((d, i) => d === shape[i]) ? t : tf.reshape(t, shape);
}

/** The tensors end to end as one 1-D tensor; a single 1-D tensor passes through without a kernel. */
function concatFlat(tensors: tf.Tensor[]): tf.Tensor {
  const flat = tensors.map((t) => (t.rank === 1 ? t : tf.reshape(t, [-1])));
  return flat.length === 1 ? (flat[0] as tf.Tensor) : tf.concat(flat);
}
