// The backend package's public surface: what the rest of the library may use. Everything else under src/backend
// is its inside:
//   select.ts  picks and initialises the tfjs backend (tensorflow-gpu | tensorflow | wasm | cpu)
//   ops/       the operations model/ and train/ call: one kernel where the active backend registers it, null
//              elsewhere (the caller keeps tfjs's composite)
//   native/    kernels registered on the native TensorFlow backend, and the tensorflow-gpu probe (gpu.ts)
//   wasm/      kernels registered on wasm (and cpu's weight gradient), its SIMD module, heap and threads
export { AUTO_ORDER, BackendUnavailableError, availableBackends, initBackend, type BackendChoice, type ConcreteBackend } from './select';
export { adamUpdate, type AdamUpdateAttrs } from './ops/adam-update';
export { halfSumOfSquares } from './ops/sum-of-squares';
export { createFlatAdam, type FlatAdamState } from './ops/flat-adam';
export { batchNormTraining, type BatchNormTrainingResult } from './ops/batch-norm-training';
