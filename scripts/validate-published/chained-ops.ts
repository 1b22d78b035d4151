// Chained tensor ops (x.div(255), x.as4D(...)) for third-party code built against the tfjs union
// package, which registers them as a side effect. tfjs-core's CommonJS bundle does not, and its
// ESM files that do cannot be imported under Node (directory imports). Our own code never relies
// on these: only the published-model validation, which runs face-api, calls this.
import * as tf from '@tensorflow/tfjs-core';

/** Methods that call the tf op of the same name with the tensor as first argument (tfjs-core 4.22). */
export const SAME_NAME_CHAINED_OPS = `abs acos acosh add all any argMax argMin asin asinh atan atan2 atanh batchNorm
  batchToSpaceND broadcastTo ceil clipByValue conv1d conv2d cos cosh cumprod cumsum depthToSpace div divNoNan dot
  elu equal erf euclideanNorm exp expandDims expm1 fft floor floorDiv gather greater greaterEqual ifft irfft
  isFinite isInf isNaN leakyRelu less lessEqual log log1p logSigmoid logSoftmax logSumExp logicalAnd logicalNot
  logicalOr logicalXor matMul max maximum mean min minimum mirrorPad mod mul neg norm notEqual oneHot onesLike
  pad pool pow prelu prod reciprocal relu relu6 reshape reverse rfft round rsqrt selu sigmoid sign sin sinh
  slice softmax softplus spaceToBatchND split sqrt square squaredDifference squeeze step stridedSlice sub sum
  tan tanh tile topk transpose unique unstack zerosLike`
  .split(/\s+/)
  .filter(Boolean);

type Method = (this: tf.Tensor, ...args: unknown[]) => unknown;

function special(): Record<string, Method> {
  return {
    as1D: function () { return tf.reshape(this, [this.size]); },
    as2D: function (a, b) { return tf.reshape(this, [a, b] as number[]); },
    as3D: function (a, b, c) { return tf.reshape(this, [a, b, c] as number[]); },
    as4D: function (a, b, c, d) { return tf.reshape(this, [a, b, c, d] as number[]); },
    as5D: function (a, b, c, d, e) { return tf.reshape(this, [a, b, c, d, e] as number[]); },
    asScalar: function () {
      if (this.size !== 1) throw new Error(`asScalar: the tensor has ${this.size} elements, expected 1`);
      return tf.reshape(this, []);
    },
    flatten: function () { return tf.reshape(this, [this.size]); },
    reshapeAs: function (x) { return tf.reshape(this, (x as tf.Tensor).shape); },
    asType: function (dtype) { return tf.cast(this, dtype as tf.DataType); },
    toBool: function () { return tf.cast(this, 'bool'); },
    toFloat: function () { return tf.cast(this, 'float32'); },
    toInt: function () { return tf.cast(this, 'int32'); },
    concat: function (x, axis) {
      const rest = x instanceof tf.Tensor ? [x] : (x as tf.Tensor[]);
      return tf.concat([this, ...rest], axis as number | undefined);
    },
    stack: function (x, axis) {
      const rest = x instanceof tf.Tensor ? [x] : (x as tf.Tensor[]);
      return tf.stack([this, ...rest], axis as number | undefined);
    },
    where: function (condition, x) {
      return tf.where(condition as tf.Tensor, this, x as tf.Tensor);
    },
  };
}

/** Adds the chained methods that are missing on tf.Tensor; never replaces an existing one. Returns how many it added. */
export function registerChainedOps(): number {
  const proto = tf.Tensor.prototype as unknown as Record<string, unknown>;
  const ops = tf as unknown as Record<string, unknown>;
  let added = 0;
  const define = (name: string, fn: Method): void => {
    if (typeof proto[name] === 'function') return;
    proto[name] = function (this: tf.Tensor, ...args: unknown[]) {
      if (this.isDisposed) throw new Error(`Tensor is disposed (called .${name}() on it)`);
      return fn.apply(this, args);
    };
    added++;
  };
  for (const name of SAME_NAME_CHAINED_OPS) {
    const op = ops[name];
    if (typeof op !== 'function') throw new Error(`registerChainedOps: tfjs-core has no op '${name}' (version ${tf.version_core})`);
    define(name, function (this: tf.Tensor, ...args: unknown[]) { return (op as (...a: unknown[]) => unknown)(this, ...args); });
  }
  for (const [name, fn] of Object.entries(special())) define(name, fn);
  return added;
}
