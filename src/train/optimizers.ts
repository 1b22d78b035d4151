// Optimisers written over plain tf.Variables instead of tf.train.*: tfjs has no AdamW, and its
// built-in optimisers keep bias-correction powers as float32 variables, which makes an exact
// restore fiddly. Here the whole state is the step count plus named slot tensors, so a checkpoint
// restores it bit for bit, and the learning rate is simply an argument of every step.
import * as tf from '@tensorflow/tfjs-core';
import type { OptimizerConfig } from '../config/schema';
import { adamUpdate, createFlatAdam, halfSumOfSquares, type FlatAdamState } from '../backend';

export type OptimizerName = OptimizerConfig['name'];

/** Options of every optimiser; a subset of the run config's `optimizer` section. */
export interface OptimizerOptions {
  name: OptimizerName;
  weightDecay: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  momentum: number;
}

/** One slot tensor (m, v, velocity) of one parameter, as plain data. */
export interface SlotArray {
  /** `<slot>/<parameter index>/<parameter name>`, e.g. `m/3/conv1/kernel`. */
  name: string;
  shape: number[];
  values: Float32Array;
}

/** The optimiser's whole state as plain data: enough to continue exactly where it stopped. */
export interface OptimizerState {
  name: OptimizerName;
  /** Number of updates applied so far (Adam's bias correction depends on it). */
  step: number;
  slots: SlotArray[];
}

/** The parameters an optimiser updates, in a fixed order, with names for the saved slots. */
export interface NamedVariable {
  name: string;
  variable: tf.Variable;
}

const SLOT_NAMES: Record<OptimizerName, string[]> = { adam: ['m', 'v'], adamw: ['m', 'v'], sgd: ['velocity'] };

export class Optimizer {
  private stepCount = 0;
  /**
   * One flat variable per slot holding every parameter's values end to end, in parameter order (zeros at
   * construction). The update then runs as a dozen kernels over all parameters instead of a dozen per
   * parameter: on the native backend each kernel costs tens of microseconds to dispatch, which for a
   * ResNet-18's 62 weight tensors was a tenth of a narrow net's training step.
   */
  private slots = new Map<string, tf.Variable>();
  private readonly sizes: number[];
  /**
   * Adam's weights, m and v held by the backend and updated in place by one kernel (the native backend:
   * ResourceApplyAdam, src/backend/native/resource-adam.ts), where it has that; null elsewhere. While
   * `fusedHoldsSlots`, it holds the current m and v and the slot variables above are stale; the parameters are
   * the pieces of its weights as long as their data is what the last fused step assigned (`fusedWeightIds`):
   * anything else (a restore) is loaded into it before the next step.
   */
  private fused: FlatAdamState | null = null;
  private fusedHoldsSlots = false;
  private fusedWeightIds: object[] | null = null;

  constructor(
    readonly options: OptimizerOptions,
    private readonly params: NamedVariable[],
  ) {
    if (params.length === 0) throw new Error('Expected at least one trainable variable for the optimiser, but got none.');
    this.sizes = params.map((p) => p.variable.size);
    // Slots exist from the start, so the live-tensor count does not jump at the first step (the trainer's leak
    // guard checks every step); so does the in-place Adam state, where the backend has one.
    this.ensureSlots();
    if (options.name === 'adam') this.fused = createFlatAdam(this.totalSize());
  }

  get step(): number {
    return this.stepCount;
  }

  /** Applies one update with the given gradients (same order as the parameters) and learning rate. */
  applyGradients(grads: tf.Tensor[], learningRate: number): void {
    const flat = this.flattenGradients(grads);
    try {
      this.applyFlatGradient(flat, learningRate);
    } finally {
      flat.dispose();
    }
  }

  /**
   * The gradients (same order as the parameters) end to end, as applyFlatGradient takes them; the caller
   * disposes the result. Training computes the global norm on it too, in three kernels instead of two per weight.
   */
  flattenGradients(grads: tf.Tensor[]): tf.Tensor1D {
    if (grads.length !== this.params.length) {
      throw new Error(`Expected ${this.params.length} gradients (one per parameter), but got ${grads.length}.`);
    }
    grads.forEach((g, i) => {
      const p = this.params[i] as NamedVariable;
      if (g.size !== p.variable.size) throw new Error(`The gradient for '${p.name}' has shape [${g.shape}] but the parameter has shape [${p.variable.shape}].`);
    });
    return tf.tidy(() => flatten(grads));
  }

  /** Applies one update with a gradient from flattenGradients. */
  applyFlatGradient(flatGradient: tf.Tensor1D, learningRate: number): void {
    if (flatGradient.size !== this.totalSize()) {
      throw new Error(`Expected a flat gradient of ${this.totalSize()} values (all parameters), but got ${flatGradient.size}.`);
    }
    if (!Number.isFinite(learningRate) || learningRate < 0) {
      throw new Error(`Expected a finite non-negative learning rate, but got ${learningRate}.`);
    }
    this.ensureSlots();
    this.stepCount += 1;
    const o = this.options;
    if (o.name === 'adam') {
      const fused = this.fusedAdam();
      if (fused) {
        this.applyFusedAdam(fused, flatGradient, learningRate);
        return;
      }
    }
    this.dropFused();
    tf.tidy(() => {
      let g: tf.Tensor = flatGradient;
      // Adam: classic L2 (decay added to the gradient), as SGD's; AdamW: decoupled decay applied to the weights below.
      if (o.name !== 'adamw' && o.weightDecay > 0) g = tf.add(g, tf.mul(tf.scalar(o.weightDecay), flatten(this.params.map((p) => p.variable))));
      let delta: tf.Tensor;
      if (o.name === 'sgd') {
        // PyTorch convention: v = momentum * v + g; p -= lr * v.
        const velocity = this.slot('velocity');
        const v = tf.add(tf.mul(tf.scalar(o.momentum), velocity), g);
        velocity.assign(v);
        delta = tf.mul(tf.scalar(learningRate), v);
      } else {
        // Bias corrections in float64 from the step count: no float32 power accumulators to restore.
        // PyTorch's lr / c1 * m / (sqrt(v / c2) + eps) is computed as (lr sqrt(c2) / c1) * m / (sqrt(v) + eps sqrt(c2)):
        // the same quantity (Kingma & Ba's second form, with eps scaled too so it stays exact) in two fewer passes.
        const c1 = 1 - Math.pow(o.beta1, this.stepCount);
        const c2 = 1 - Math.pow(o.beta2, this.stepCount);
        const m = this.slot('m');
        const v = this.slot('v');
        const stepSize = (learningRate * Math.sqrt(c2)) / c1;
        const epsilon = o.epsilon * Math.sqrt(c2);
        // One kernel where the backend has it (wasm), with the composite's results bit for bit.
        const fused = adamUpdate(g, m, v, { beta1: o.beta1, beta2: o.beta2, stepSize, epsilon });
        const mNew = fused?.m ?? tf.add(tf.mul(tf.scalar(o.beta1), m), tf.mul(tf.scalar(1 - o.beta1), g));
        const vNew = fused?.v ?? tf.add(tf.mul(tf.scalar(o.beta2), v), tf.mul(tf.scalar(1 - o.beta2), tf.square(g)));
        m.assign(mNew);
        v.assign(vNew);
        delta = fused?.delta ?? tf.mul(tf.scalar(stepSize), tf.div(mNew, tf.add(tf.sqrt(vNew), tf.scalar(epsilon))));
      }
      const decoupledDecay = o.name === 'adamw' && o.weightDecay > 0 ? tf.scalar(learningRate * o.weightDecay) : null;
      const steps = unflatten(delta as tf.Tensor1D, this.params.map((p) => p.variable.shape), this.sizes);
      this.params.forEach((p, i) => {
        let step = steps[i] as tf.Tensor;
        if (decoupledDecay) step = tf.add(step, tf.mul(decoupledDecay, p.variable));
        p.variable.assign(tf.sub(p.variable, step));
      });
    });
  }

  /** The state as plain arrays, one per slot and parameter, for a checkpoint (read-only: they may share the backend's storage). */
  exportState(): OptimizerState {
    this.ensureSlots();
    const slots: SlotArray[] = [];
    for (const slotName of SLOT_NAMES[this.options.name]) {
      // One read of the whole slot; each parameter's values are a view of it (a copy per parameter cost
      // 30-60 ms of each epoch's checkpoint for att-cpu's 2.8 M parameters).
      const flat = this.slotValues(slotName);
      let offset = 0;
      this.params.forEach((p, i) => {
        const size = this.sizes[i] as number;
        slots.push({ name: `${slotName}/${i}/${p.name}`, shape: p.variable.shape.slice(), values: flat.subarray(offset, offset + size) });
        offset += size;
      });
    }
    return { name: this.options.name, step: this.stepCount, slots };
  }

  /**
   * Restores a state written by exportState. Slots are matched by slot name and parameter index
   * (layer names may differ between processes); shapes must agree.
   */
  importState(state: OptimizerState): void {
    if (state.name !== this.options.name) {
      throw new Error(`The saved optimiser state is for '${state.name}' but the optimiser is '${this.options.name}'; use the same optimizer.name to resume.`);
    }
    this.ensureSlots();
    const byKey = new Map<string, SlotArray>();
    for (const s of state.slots) byKey.set(s.name.split('/').slice(0, 2).join('/'), s);
    for (const slotName of SLOT_NAMES[this.options.name]) {
      const flat = new Float32Array(this.totalSize());
      let offset = 0;
      this.params.forEach((p, i) => {
        const saved = byKey.get(`${slotName}/${i}`);
        if (!saved) throw new Error(`The saved optimiser state has no slot '${slotName}' for parameter ${i}; it does not belong to this model.`);
        if (saved.shape.join(',') !== p.variable.shape.join(',')) {
          throw new Error(`Optimiser slot '${saved.name}' has shape [${saved.shape}] but the parameter has shape [${p.variable.shape}].`);
        }
        flat.set(saved.values, offset);
        offset += this.sizes[i] as number;
      });
      tf.tidy(() => this.slot(slotName).assign(tf.tensor1d(flat, 'float32')));
    }
    // The slot variables are the truth again; a fused state loads them before its next step.
    this.fusedHoldsSlots = false;
    this.stepCount = state.step;
  }

  dispose(): void {
    this.fused?.dispose();
    this.fused = null;
    this.fusedHoldsSlots = false;
    for (const v of this.slots.values()) v.dispose();
    this.slots.clear();
  }

  /** The fused Adam state on the active backend, made on first use; null where the backend has none. */
  private fusedAdam(): FlatAdamState | null {
    if (this.fused?.usable()) return this.fused;
    // Made on another backend (tests switch backends): take its m and v back into the slots, then start afresh.
    this.dropFused();
    this.fused = createFlatAdam(this.totalSize());
    return this.fused;
  }

  private dropFused(): void {
    if (!this.fused) return;
    if (this.fusedHoldsSlots) {
      for (const slotName of ['m', 'v'] as const) {
        const values = this.slotValues(slotName);
        tf.tidy(() => this.slot(slotName).assign(tf.tensor1d(values.slice(), 'float32')));
      }
    }
    this.fused.dispose();
    this.fused = null;
    this.fusedHoldsSlots = false;
    this.fusedWeightIds = null;
  }

  /** The current values of a slot, end to end (read-only: they may share the backend's storage). */
  private slotValues(slotName: string): Float32Array {
    if (!this.fused || !this.fusedHoldsSlots) return this.slot(slotName).dataSync() as Float32Array;
    const t = this.fused.read(slotName as 'm' | 'v');
    try {
      return t.dataSync() as Float32Array;
    } finally {
      t.dispose();
    }
  }

  /**
   * Adam as one in-place kernel over all parameters, then the new weights cut back into the parameters (a SplitV
   * and a reshape per weight tensor of rank > 1). The same quantity as the composite, in TensorFlow's rounding.
   */
  private applyFusedAdam(fused: FlatAdamState, flatGradient: tf.Tensor1D, learningRate: number): void {
    const o = this.options;
    const c1 = 1 - Math.pow(o.beta1, this.stepCount);
    const c2 = 1 - Math.pow(o.beta2, this.stepCount);
    const attrs = { beta1: o.beta1, beta2: o.beta2, stepSize: (learningRate * Math.sqrt(c2)) / c1, epsilon: o.epsilon * Math.sqrt(c2) };
    tf.tidy(() => {
      if (!this.fusedHoldsSlots) {
        fused.load('m', this.slot('m') as tf.Tensor1D);
        fused.load('v', this.slot('v') as tf.Tensor1D);
        this.fusedHoldsSlots = true;
      }
      const ids = this.fusedWeightIds;
      if (!ids || this.params.some((p, i) => p.variable.dataId !== ids[i])) fused.load('weights', flatten(this.params.map((p) => p.variable)));
      let g: tf.Tensor1D = flatGradient;
      if (o.weightDecay > 0) {
        const w = fused.read('weights');
        g = tf.add(g, tf.mul(tf.scalar(o.weightDecay), w));
        w.dispose();
      }
      const w = fused.step(g, attrs);
      const pieces = unflatten(w, this.params.map((p) => p.variable.shape), this.sizes);
      w.dispose();
      this.params.forEach((p, i) => p.variable.assign(pieces[i] as tf.Tensor));
    });
    this.fusedWeightIds = this.params.map((p) => p.variable.dataId);
  }

  private totalSize(): number {
    return this.sizes.reduce((a, b) => a + b, 0);
  }

  private ensureSlots(): void {
    if (this.slots.size > 0) return;
    for (const slotName of SLOT_NAMES[this.options.name]) {
      this.slots.set(slotName, tf.tidy(() => tf.variable(tf.zeros([this.totalSize()]), false)));
    }
  }

  private slot(name: string): tf.Variable {
    const s = this.slots.get(name);
    if (!s) throw new Error(`Internal error: optimiser slot '${name}' missing.`);
    return s;
  }
}

/**
 * A flat tensor cut back into tensors of the given shapes. On wasm this relies on the contiguous-slice
 * SplitV of src/backend/wasm/training-kernels.ts: tfjs-wasm's own copies its whole source for every piece.
 */
function unflatten(flat: tf.Tensor1D, shapes: number[][], sizes: number[]): tf.Tensor[] {
  return tf.split(flat, sizes).map((piece, i) => ((shapes[i] as number[]).length === 1 ? piece : tf.reshape(piece, shapes[i] as number[])));
}

/**
 * The tensors' values end to end, as one 1-D tensor. 1-D tensors (BatchNorm's gamma and beta, two thirds of a
 * ResNet's weights) go in as they are: a reshape is a kernel, tens of microseconds each on the native backend.
 */
function flatten(tensors: tf.Tensor[]): tf.Tensor1D {
  return tf.concat(tensors.map((t) => (t.rank === 1 ? t : tf.reshape(t, [-1])) as tf.Tensor1D));
}

export function createOptimizer(options: OptimizerOptions, params: NamedVariable[]): Optimizer {
  return new Optimizer(options, params);
}

/** The L2 norm of a flat gradient (flattenGradients): the global norm, as torch.nn.utils.clip_grad_norm_ computes it. */
export function flatNorm(flat: tf.Tensor1D): number {
  // One pass where the backend has it (native: L2Loss); it sums in another order than square + sum (last bits).
  const half = halfSumOfSquares(flat);
  if (half) {
    const value = half.dataSync()[0] as number;
    half.dispose();
    return Math.sqrt(2 * value);
  }
  return tf.tidy(() => tf.sqrt(tf.sum(tf.square(flat))).dataSync()[0] as number);
}

/**
 * A flat gradient whose norm exceeds maxNorm, scaled down to it (as torch.nn.utils.clip_grad_norm_); a new
 * tensor the caller disposes.
 */
export function clipFlatGradient(flat: tf.Tensor1D, maxNorm: number, norm: number): tf.Tensor1D {
  return tf.tidy(() => tf.mul(flat, tf.scalar(maxNorm / (norm + 1e-6))));
}
