// Batch-all triplet loss on Euclidean distances, with its gradient, computed on the host in float64 and handed to
// the tape as one custom-gradient op. The tensor composite (distances.ts + batch-all.ts + the two mean distances) is
// about 170 kernels forward and backward, each a fraction of a microsecond of work on a 16 x 64 batch but tens of
// microseconds to dispatch on the native backend: 5.6 ms of a ~114-ms att-cpu step there. Here it is one read-back of
// the embeddings (the step reads the loss back anyway), a loop over the triplets, and one upload of the gradient.
// The same definitions as the composite (the double-where zero-distance rule, relu's zero gradient at 0, the
// POSITIVE_LOSS count), computed in float64 instead of float32.
import * as tf from '@tensorflow/tfjs-core';

/** A triplet counts as positive above this loss (as batch-all.ts). */
const POSITIVE_LOSS = 1e-16;
/** Below this squared distance a pair counts as identical: distance 0 with zero gradient (as distances.ts). */
const ZERO_SQUARED_DISTANCE = 1e-12;

export interface HostBatchAllResult {
  loss: tf.Scalar;
  activeFraction: tf.Scalar;
  meanPositiveDistance: tf.Scalar;
  meanNegativeDistance: tf.Scalar;
}

/** The loss, its statistics and dLoss/dEmbeddings, from plain arrays ([n, dim] row-major embeddings). */
export function batchAllOnHost(e: Float32Array | Float64Array, labels: ArrayLike<number>, dim: number, margin: number) {
  const n = labels.length;
  const norms = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < dim; k++) s += (e[i * dim + k] as number) ** 2;
    norms[i] = s;
  }
  // d[i][j] as the composite: sqrt(relu(|a|^2 - 2 a.b + |b|^2)) above the threshold, else 0 (and no gradient).
  const d = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let dot = 0;
      for (let k = 0; k < dim; k++) dot += (e[i * dim + k] as number) * (e[j * dim + k] as number);
      const sq = Math.max(0, (norms[i] as number) - 2 * dot + (norms[j] as number));
      d[i * n + j] = sq > ZERO_SQUARED_DISTANCE ? Math.sqrt(sq) : 0;
    }
  }
  let sum = 0;
  let numPositive = 0;
  let numValid = 0;
  // dLoss/dd before dividing by max(numPositive, 1): +1 on d(a, p), -1 on d(a, n) for each triplet on relu's slope.
  const dd = new Float64Array(n * n);
  let posSum = 0, posCount = 0, negSum = 0, negCount = 0;
  for (let a = 0; a < n; a++) {
    for (let p = 0; p < n; p++) {
      if (p === a) continue;
      if (labels[p] === labels[a]) {
        posSum += d[a * n + p] as number;
        posCount++;
      } else {
        negSum += d[a * n + p] as number;
        negCount++;
      }
    }
  }
  for (let a = 0; a < n; a++) {
    for (let p = 0; p < n; p++) {
      if (p === a || labels[p] !== labels[a]) continue;
      const dap = d[a * n + p] as number;
      for (let q = 0; q < n; q++) {
        if (labels[q] === labels[a]) continue;
        numValid++;
        const x = dap - (d[a * n + q] as number) + margin;
        if (x <= 0) continue;
        sum += x;
        if (x > POSITIVE_LOSS) numPositive++;
        dd[a * n + p] = (dd[a * n + p] as number) + 1;
        dd[a * n + q] = (dd[a * n + q] as number) - 1;
      }
    }
  }
  const scale = 1 / Math.max(numPositive, 1);
  // dd/de: d(i, j) = sqrt(s), s = |e_i|^2 - 2 e_i.e_j + |e_j|^2, so dd/de_i = (e_i - e_j) / d and dd/de_j = (e_j - e_i) / d.
  const grad = new Float32Array(n * dim);
  const acc = new Float64Array(n * dim);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const g = dd[i * n + j] as number;
      const dist = d[i * n + j] as number;
      if (g === 0 || dist === 0) continue;
      const c = (g * scale) / dist;
      for (let k = 0; k < dim; k++) {
        const diff = (e[i * dim + k] as number) - (e[j * dim + k] as number);
        acc[i * dim + k] = (acc[i * dim + k] as number) + c * diff;
        acc[j * dim + k] = (acc[j * dim + k] as number) - c * diff;
      }
    }
  }
  grad.set(acc);
  return {
    loss: sum * scale,
    activeFraction: numPositive / Math.max(numValid, 1),
    meanPositiveDistance: posSum / Math.max(posCount, 1),
    meanNegativeDistance: negSum / Math.max(negCount, 1),
    grad,
  };
}

/** Batch-all on Euclidean distances as one custom-gradient op over [n, dim] embeddings; four new scalars. */
export function batchAllTripletLossOnHost(embeddings: tf.Tensor2D, labels: tf.Tensor1D, margin: number): HostBatchAllResult {
  const [n, dim] = embeddings.shape;
  const labelValues = labels.dataSync();
  let stats: ReturnType<typeof batchAllOnHost> | null = null;
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const x = args[0] as tf.Tensor;
    stats = batchAllOnHost(x.dataSync() as Float32Array, labelValues, dim, margin);
    const grad = stats.grad;
    return {
      value: tf.scalar(stats.loss, 'float32'),
      gradFunc: (dy: tf.Tensor) => tf.mul(dy, tf.tensor2d(grad, [n, dim], 'float32')),
    };
  });
  const loss = op(embeddings) as tf.Scalar;
  const s = stats as unknown as ReturnType<typeof batchAllOnHost>;
  return {
    loss,
    activeFraction: tf.scalar(s.activeFraction, 'float32'),
    meanPositiveDistance: tf.scalar(s.meanPositiveDistance, 'float32'),
    meanNegativeDistance: tf.scalar(s.meanNegativeDistance, 'float32'),
  };
}
