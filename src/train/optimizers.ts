// Optimisers written over plain tf.Variables instead of tf.train.*: tfjs has no AdamW, and its
// built-in optimisers keep bias-correction powers as float32 variables, which makes an exact
// restore fiddly. Here the whole state is the step count plus named slot tensors, so a checkpoint
// restores it bit for bit, and the learning rate is simply an argument of every step.
import * as tf from '@tensorflow/tfjs-core';
import type { OptimizerConfig } from '../config/schema';

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
  /** slots[slotName][parameterIndex], zeros at construction. */
  private slots = new Map<string, tf.Variable[]>();

  constructor(
    readonly options: OptimizerOptions,
    private readonly params: NamedVariable[],
  ) {
    if (params.length === 0) throw new Error('Expected at least one trainable variable for the optimiser, but got none.');
    // Slots exist from the start, so the live-tensor count does not jump at the first step.
    this.ensureSlots();
  }

  get step(): number {
    return this.stepCount;
  }

  /** Applies one update with the given gradients (same order as the parameters) and learning rate. */
  applyGradients(grads: tf.Tensor[], learningRate: number): void {
    if (grads.length !== this.params.length) {
      throw new Error(`Expected ${this.params.length} gradients (one per parameter), but got ${grads.length}.`);
    }
    if (!Number.isFinite(learningRate) || learningRate < 0) {
      throw new Error(`Expected a finite non-negative learning rate, but got ${learningRate}.`);
    }
    this.ensureSlots();
    this.stepCount += 1;
    const o = this.options;
    tf.tidy(() => {
      if (o.name === 'sgd') {
        const lr = tf.scalar(learningRate);
        const velocity = this.slot('velocity');
        this.params.forEach((p, i) => {
          // PyTorch convention: v = momentum * v + (g + wd * p); p -= lr * v (weight decay coupled, as SGD's L2).
          let g = grads[i] as tf.Tensor;
          if (o.weightDecay > 0) g = tf.add(g, tf.mul(tf.scalar(o.weightDecay), p.variable));
          const v = tf.add(tf.mul(tf.scalar(o.momentum), velocity[i] as tf.Variable), g);
          (velocity[i] as tf.Variable).assign(v);
          p.variable.assign(tf.sub(p.variable, tf.mul(lr, v)));
        });
        return;
      }
      // Bias corrections in float64 from the step count: no float32 power accumulators to restore.
      // PyTorch's lr / c1 * m / (sqrt(v / c2) + eps) is computed as (lr sqrt(c2) / c1) * m / (sqrt(v) + eps sqrt(c2)):
      // the same quantity (Kingma & Ba's second form, with eps scaled too so it stays exact) in two fewer
      // passes over every weight.
      const c1 = 1 - Math.pow(o.beta1, this.stepCount);
      const c2 = 1 - Math.pow(o.beta2, this.stepCount);
      const stepSize = tf.scalar((learningRate * Math.sqrt(c2)) / c1);
      const epsHat = tf.scalar(o.epsilon * Math.sqrt(c2));
      const b1 = tf.scalar(o.beta1);
      const b2 = tf.scalar(o.beta2);
      const oneMinusB1 = tf.scalar(1 - o.beta1);
      const oneMinusB2 = tf.scalar(1 - o.beta2);
      const decoupledDecay = o.name === 'adamw' && o.weightDecay > 0 ? tf.scalar(learningRate * o.weightDecay) : null;
      const m = this.slot('m');
      const v = this.slot('v');
      this.params.forEach((p, i) => {
        let g = grads[i] as tf.Tensor;
        // Adam: classic L2 (decay added to the gradient); AdamW: decoupled decay applied to the weights.
        if (o.name === 'adam' && o.weightDecay > 0) g = tf.add(g, tf.mul(tf.scalar(o.weightDecay), p.variable));
        const mNew = tf.add(tf.mul(b1, m[i] as tf.Variable), tf.mul(oneMinusB1, g));
        const vNew = tf.add(tf.mul(b2, v[i] as tf.Variable), tf.mul(oneMinusB2, tf.square(g)));
        (m[i] as tf.Variable).assign(mNew);
        (v[i] as tf.Variable).assign(vNew);
        let delta = tf.mul(stepSize, tf.div(mNew, tf.add(tf.sqrt(vNew), epsHat)));
        if (decoupledDecay) delta = tf.add(delta, tf.mul(decoupledDecay, p.variable));
        p.variable.assign(tf.sub(p.variable, delta));
      });
    });
  }

  /** The state as plain arrays (copies), for a checkpoint. */
  exportState(): OptimizerState {
    this.ensureSlots();
    const slots: SlotArray[] = [];
    for (const slotName of SLOT_NAMES[this.options.name]) {
      this.slot(slotName).forEach((t, i) => {
        slots.push({
          name: `${slotName}/${i}/${(this.params[i] as NamedVariable).name}`,
          shape: t.shape.slice(),
          values: Float32Array.from(t.dataSync() as Float32Array),
        });
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
      this.slot(slotName).forEach((t, i) => {
        const saved = byKey.get(`${slotName}/${i}`);
        if (!saved) throw new Error(`The saved optimiser state has no slot '${slotName}' for parameter ${i}; it does not belong to this model.`);
        if (saved.shape.join(',') !== t.shape.join(',')) {
          throw new Error(`Optimiser slot '${saved.name}' has shape [${saved.shape}] but the parameter has shape [${t.shape}].`);
        }
        tf.tidy(() => t.assign(tf.tensor(saved.values, saved.shape, 'float32')));
      });
    }
    this.stepCount = state.step;
  }

  dispose(): void {
    for (const list of this.slots.values()) for (const t of list) t.dispose();
    this.slots.clear();
  }

  private ensureSlots(): void {
    if (this.slots.size > 0) return;
    for (const slotName of SLOT_NAMES[this.options.name]) {
      this.slots.set(slotName, this.params.map((p) => tf.tidy(() => tf.variable(tf.zerosLike(p.variable), false))));
    }
  }

  private slot(name: string): tf.Variable[] {
    const s = this.slots.get(name);
    if (!s) throw new Error(`Internal error: optimiser slot '${name}' missing.`);
    return s;
  }
}

export function createOptimizer(options: OptimizerOptions, params: NamedVariable[]): Optimizer {
  return new Optimizer(options, params);
}

/** The global L2 norm of all gradients, as torch.nn.utils.clip_grad_norm_ computes it. */
export function globalNorm(grads: tf.Tensor[]): number {
  return tf.tidy(() => tf.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g))))).dataSync()[0] as number);
}

/**
 * Scales the gradients so their global L2 norm is at most maxNorm (as torch.nn.utils.clip_grad_norm_).
 * Returns new tensors and the norm before clipping; the caller disposes both the inputs and outputs.
 * Pass `norm` when it is already known, to save a reduction.
 */
export function clipByGlobalNorm(grads: tf.Tensor[], maxNorm: number, norm = globalNorm(grads)): { grads: tf.Tensor[]; norm: number } {
  const scale = norm > maxNorm ? maxNorm / (norm + 1e-6) : 1;
  return { grads: grads.map((g) => (scale === 1 ? tf.clone(g) : tf.tidy(() => tf.mul(g, tf.scalar(scale))))), norm };
}
