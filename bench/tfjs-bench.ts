// Training and embedding throughput of one (backend, shape): the real train step of src/train
// (forward in training mode, triplet loss, gradients, global norm, Adam update), on a fixed
// synthetic batch so the figure is the model's and not the data pipeline's (that is measured apart).
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { buildEmbeddingModel, countTrainableParams, foldedEmbedder } from '../src/model';
import { tripletLoss } from '../src/loss';
import { createOptimizer, defaultEmbed, trainStep, type Optimizer } from '../src/train';
import { MIB, round, timeSteps, type RssSampler, type TimedRun } from './measure';
import { pkLabels, type BenchShape } from './shapes';

export interface StepOptions {
  warmup: number;
  steps: number;
  capSeconds: number;
}

export interface ThroughputResult {
  imagesPerS: number;
  medianStepS: number;
  stepsTimed: number;
  capped: boolean;
  warmupS: number[];
  stepTimesS: number[];
}

export interface TensorCounts {
  /** tf.memory().numTensors after each step, warm-up included. */
  perStep: number[];
  /** Last minus first count after the warm-up: must be 0 (anything else is a leak per step). */
  growthAfterWarmup: number;
  /** Live tensors before the model was built and after everything was disposed: must be equal. */
  before: number;
  afterDispose: number;
}

export interface ShapeResult {
  params: number;
  train: ThroughputResult;
  embed: ThroughputResult;
  liveTensors: { train: TensorCounts; embed: TensorCounts };
  /** Highest RSS sampled while this shape ran, MiB. */
  peakRssMiB: number;
  /** Size of the wasm linear memory (it only grows), MiB; null on other backends. */
  wasmHeapMiB: number | null;
  loss: { first: number; last: number };
}

/** The wasm backend's linear memory in MiB, or null when the active backend is not wasm. */
export function wasmHeapMiB(): number | null {
  const backend = tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } };
  const heap = backend.wasm?.HEAPU8;
  return heap ? round(heap.buffer.byteLength / MIB, 1) : null;
}

function throughput(run: TimedRun, batch: number): ThroughputResult {
  return {
    imagesPerS: round(batch / run.medianS, 2),
    medianStepS: round(run.medianS, 4),
    stepsTimed: run.times.length,
    capped: run.capped,
    warmupS: run.warmupS.map((s) => round(s, 3)),
    stepTimesS: run.times.map((s) => round(s, 4)),
  };
}

function counts(perStep: number[], warmup: number, before: number): TensorCounts {
  const timed = perStep.slice(Math.max(0, warmup - 1));
  const growth = timed.length >= 2 ? (timed[timed.length - 1] as number) - (timed[0] as number) : 0;
  return { perStep, growthAfterWarmup: growth, before, afterDispose: NaN };
}

/** What one benchmark setup holds; `dispose` frees every tensor it made. */
export interface Rig {
  model: LayersModel;
  optimizer: Optimizer;
  params: tf.Variable[];
  x: tf.Tensor4D;
  labels: tf.Tensor1D;
  /** One real training step; returns the loss (read back, so the step has finished). */
  step(stepIndex: number): number;
  dispose(): void;
}

export function buildRig(shape: BenchShape): Rig {
  const [h, w, c] = shape.inputShape;
  const model = buildEmbeddingModel({
    architecture: 'resnet18',
    widths: shape.widths,
    stem: shape.stem,
    embeddingDim: shape.embeddingDim,
    inputShape: [h, w, c],
    seed: shape.seed,
  });
  // As createTrainingSession does: the layer's weight names label the optimiser slots.
  const named = model.trainableWeights.map((wt) => ({ name: wt.originalName ?? wt.name, variable: wt.read() as tf.Variable }));
  const optimizer = createOptimizer(shape.optimizer, named);
  const params = named.map((p) => p.variable);
  // A fixed batch (normal noise, like torch_reference.py's torch.randn): the step's cost does not depend on the pixels.
  const x = tf.randomNormal([shape.batch, h, w, c], 0, 1, 'float32', shape.seed + 1) as tf.Tensor4D;
  const labels = tf.tensor1d(pkLabels(shape.batch, shape.imagesPerIdentity), 'int32');
  const inputs = {
    model,
    params,
    optimizer,
    lossFn: (e: tf.Tensor2D, l: tf.Tensor1D) => tripletLoss(e, l, shape.loss),
    embed: defaultEmbed,
    clipGradNorm: shape.optimizer.clipGradNorm,
  };
  return {
    model,
    optimizer,
    params,
    x,
    labels,
    step: (i) => trainStep(inputs, x, labels, shape.optimizer.learningRate, { epoch: 0, step: i }).loss,
    dispose() {
      x.dispose();
      labels.dispose();
      optimizer.dispose();
      model.dispose();
    },
  };
}

/** Measures training then embedding images/s of `shape` on the active backend. */
export function benchShape(shape: BenchShape, o: StepOptions, rss: RssSampler): ShapeResult {
  rss.reset();
  const before = tf.memory().numTensors;
  const rig = buildRig(shape);
  const losses: number[] = [];
  try {
    const trainCounts: number[] = [];
    let stepIndex = 0;
    const trainRun = timeSteps(() => void losses.push(rig.step(stepIndex++)), {
      ...o,
      after: () => {
        trainCounts.push(tf.memory().numTensors);
        rss.sample();
      },
    });

    const embedCounts: number[] = [];
    // As an evaluation embeds (src/train/embed-all.ts): BatchNorm folded once, then batch after batch.
    const embedder = foldedEmbedder(rig.model);
    let embedRun: TimedRun;
    try {
      embedRun = timeSteps(
        () => {
          const e = embedder.embed(rig.x);
          e.dataSync();
          e.dispose();
        },
        // Inference is several times cheaper than a training step: allow more steps in the same cap.
        { ...o, steps: Math.max(o.steps, 3), after: () => { embedCounts.push(tf.memory().numTensors); rss.sample(); } },
      );
    } finally {
      embedder.dispose();
    }
    const result: ShapeResult = {
      params: countTrainableParams(rig.model),
      train: throughput(trainRun, shape.batch),
      embed: throughput(embedRun, shape.batch),
      liveTensors: { train: counts(trainCounts, o.warmup, before), embed: counts(embedCounts, o.warmup, before) },
      peakRssMiB: 0,
      wasmHeapMiB: null,
      loss: { first: round(losses[0] ?? NaN, 5), last: round(losses[losses.length - 1] ?? NaN, 5) },
    };
    rig.dispose();
    const after = tf.memory().numTensors;
    result.liveTensors.train.afterDispose = after;
    result.liveTensors.embed.afterDispose = after;
    result.peakRssMiB = rss.peakMiB();
    result.wasmHeapMiB = wasmHeapMiB();
    return result;
  } catch (err) {
    rig.dispose();
    throw err;
  }
}

export interface KernelTime {
  kernel: string;
  /** Time inside this kernel minus the kernels it called (composite kernels call other kernels). */
  selfMs: number;
  /** Time inside this kernel including the kernels it called. */
  inclusiveMs: number;
  calls: number;
  /** selfMs / the sum of all self times (the step's kernel time). */
  share: number;
}

export interface StepProfile {
  backend: string;
  shape: string;
  batch: number;
  /** Wall time of the profiled step (profiling adds some overhead). */
  stepMs: number;
  /** Sum of self times: the part of the step spent in kernels. */
  kernelMs: number;
  /** By self time, each kernel labelled with the kernels it ran inside ("Conv2DBackpropFilter > Conv2D"). */
  top: KernelTime[];
  /** By kernel name alone, sorted by inclusive time (composite kernels with everything they ran). */
  topInclusive: KernelTime[];
}

type Profiler = { profileKernel: (name: string, inputs: unknown, f: () => unknown) => unknown };
type EngineInternals = { profiler: Profiler; state: { kernelDepth: number } };

/**
 * Records the nesting depth of every kernel tf.profile sees, in the order tf.profile lists them
 * (completion order), so nested kernels (a composite kernel's inner ops, a customGrad op's kernels)
 * can be subtracted from their parent instead of being counted twice.
 */
function recordDepths(): { depths: number[]; restore: () => void } {
  const engine = tf.engine() as unknown as EngineInternals;
  const profiler = engine.profiler;
  const original = profiler.profileKernel;
  const depths: number[] = [];
  profiler.profileKernel = function (this: Profiler, name, inputs, f) {
    const depth = engine.state.kernelDepth;
    const out = original.call(this, name, inputs, f);
    depths.push(depth);
    return out;
  };
  return { depths, restore: () => void (profiler.profileKernel = original) };
}

/** tf.profile of one training step (after one warm-up step): self and inclusive kernel time by kernel name. */
export async function profileStep(shape: BenchShape, topN = 15): Promise<StepProfile> {
  const rig = buildRig(shape);
  const rec = recordDepths();
  try {
    rig.step(0);
    rec.depths.length = 0;
    const t0 = performance.now();
    const info = await tf.profile(() => {
      rig.step(1);
    });
    const stepMs = performance.now() - t0;
    const nested = rec.depths.length === info.kernels.length;
    const n = info.kernels.length;
    const times: number[] = [];
    for (const k of info.kernels) times.push(Number(await k.kernelTimeMs) || 0);
    // Kernels are listed as they finish, so a kernel's children are the kernels one level deeper that
    // finished since the last kernel at its own level or above.
    const parent = new Array<number>(n).fill(-1);
    const self = [...times];
    const pending: number[][] = [];
    for (let i = 0; i < n; i++) {
      const d = nested ? (rec.depths[i] as number) : 1;
      for (const c of pending[d + 1] ?? []) {
        parent[c] = i;
        self[i] = (self[i] as number) - (times[c] as number);
      }
      pending[d + 1] = [];
      (pending[d] ??= []).push(i);
    }
    const label = (i: number): string => {
      const names: string[] = [];
      for (let j = i; j >= 0; j = parent[j] as number) names.unshift((info.kernels[j] as { name: string }).name);
      return names.join(' > ');
    };
    const bySelf = new Map<string, { self: number; incl: number; calls: number }>();
    const byName = new Map<string, { self: number; incl: number; calls: number }>();
    let total = 0;
    for (let i = 0; i < n; i++) {
      const sf = Math.max(0, self[i] as number);
      total += sf;
      for (const [map, key] of [[bySelf, label(i)], [byName, (info.kernels[i] as { name: string }).name]] as const) {
        const e = map.get(key) ?? { self: 0, incl: 0, calls: 0 };
        e.self += sf;
        e.incl += times[i] as number;
        e.calls += 1;
        map.set(key, e);
      }
    }
    const rows = (map: typeof bySelf, by: 'self' | 'incl') =>
      [...map.entries()]
        .sort((a, b) => b[1][by] - a[1][by])
        .slice(0, topN)
        .map(([kernel, e]) => ({ kernel, selfMs: round(e.self, 1), inclusiveMs: round(e.incl, 1), calls: e.calls, share: round(e.self / total, 4) }));
    const top = rows(bySelf, 'self');
    const topInclusive = rows(byName, 'incl');
    return { backend: tf.getBackend(), shape: shape.id, batch: shape.batch, stepMs: round(stepMs, 1), kernelMs: round(total, 1), top, topInclusive };
  } finally {
    rec.restore();
    rig.dispose();
  }
}
