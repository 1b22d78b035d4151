// Export of the trained embedding model in the standard tfjs layers format (model.json +
// group1-shard1of1.bin, loadable by tf.loadLayersModel anywhere) plus a facenet.json sidecar with
// what a user needs to embed a face: preprocessing, threshold, metrics. Written and read through
// our own handlers (no tfjs-node file://), so it works on every backend.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import '../model'; // registers the L2Normalize layer so loadLayersModel can deserialise it
import type { ModelConfig, PreprocessConfig } from '../config/schema';
import { writeDirAtomic, writeFileDurable } from '../util/durable-fs';

export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'group1-shard1of1.bin';
export const SIDECAR_JSON = 'facenet.json';

/** The sidecar: how to feed the model and how to read its output. */
export interface FaceNetSidecar {
  format: 'facenet-export/1';
  /** Input [height, width, channels] the model expects, after preprocessing. */
  inputShape: number[];
  embeddingDim: number;
  preprocess: {
    channels: 1 | 3;
    centerCrop: { height: number; width: number } | null;
    /** A fixed box cut from each image (preprocess.crop). */
    crop: { top: number; left: number; height: number; width: number } | null;
    resize: { height: number; width: number } | null;
    /** The mean/std actually applied (after resolving normalize.mode 'computed'); pixel = (x/255 - mean) / std. */
    mean: number[];
    std: number[];
  };
  /** Decision threshold on the embedding distance: same person when distance < threshold. */
  threshold: number | null;
  /** Which pairs chose the threshold (e.g. 'validation pairs', 'test pairs (in-sample)'). */
  thresholdFrom: string | null;
  distance: 'euclidean' | 'squared-euclidean';
  /**
   * Embeddings averaged with the mirror image's and re-normalised (the run's evaluation.flipTTA): the
   * threshold was found on such embeddings, so inference does the same. Absent in older exports: false.
   */
  flipTTA?: boolean;
  /** Metrics of the exported checkpoint's evaluation (accuracy, auc, eer); empty when it was not evaluated. */
  metrics: Record<string, number>;
  /** Where the threshold and metrics come from; null when the exported checkpoint was not evaluated. */
  evaluation?: ExportedEvaluation | null;
  model: ModelConfig;
  runId: string | null;
  /** Epochs trained by the exported weights (the checkpoint epoch-NNNN); null when not from a run. */
  epoch: number | null;
  /** Name of the exported checkpoint, e.g. epoch-0060; null when not from a run. */
  checkpoint?: string | null;
  /** A soup (`facenet soup`): the models whose weights were averaged into this one. */
  soupOf?: Array<{ dir: string; id: string; runId: string | null; epoch: number | null }>;
  createdAt: string;
}

/** The evaluation of the exported checkpoint that the threshold and metrics come from. */
export interface ExportedEvaluation {
  /** Always the exported epoch: the threshold of another checkpoint's evaluation would not fit these weights. */
  epoch: number;
  /** The run's evaluation file, relative to the run directory (eval/epoch-NNNN.json). */
  file: string;
  /** Which pairs, and how the threshold was chosen on them. */
  protocol: string;
  /** The headline metric and its value (k-fold mean when the pairs come in folds). */
  metric: 'accuracy';
  value: number;
}

export interface ExportOptions {
  preprocess: PreprocessConfig;
  /** The normalisation actually applied (computed mean/std when normalize.mode is 'computed'). */
  normalization: { mean: number[]; std: number[] };
  model: ModelConfig;
  threshold: number | null;
  thresholdFrom?: string | null;
  distance: 'euclidean' | 'squared-euclidean';
  flipTTA?: boolean;
  metrics?: Record<string, number>;
  evaluation?: ExportedEvaluation | null;
  runId?: string | null;
  epoch?: number | null;
  checkpoint?: string | null;
}

/** Writes model.json, group1-shard1of1.bin and facenet.json into `dir` (atomically, as one directory). */
export async function exportModel(model: tfl.LayersModel, dir: string, opts: ExportOptions): Promise<string> {
  const inputShape = (model.inputs[0]?.shape ?? []).slice(1).map((d) => d ?? -1);
  const outputShape = model.outputs[0]?.shape ?? [];
  const sidecar: FaceNetSidecar = {
    format: 'facenet-export/1',
    inputShape,
    embeddingDim: outputShape[outputShape.length - 1] ?? opts.model.embeddingDim,
    preprocess: {
      channels: opts.preprocess.channels,
      centerCrop: opts.preprocess.centerCrop,
      crop: opts.preprocess.crop,
      resize: opts.preprocess.resize,
      mean: opts.normalization.mean,
      std: opts.normalization.std,
    },
    threshold: opts.threshold,
    thresholdFrom: opts.thresholdFrom ?? null,
    distance: opts.distance,
    flipTTA: opts.flipTTA ?? false,
    metrics: opts.metrics ?? {},
    evaluation: opts.evaluation ?? null,
    model: opts.model,
    runId: opts.runId ?? null,
    epoch: opts.epoch ?? null,
    checkpoint: opts.checkpoint ?? null,
    createdAt: new Date().toISOString(),
  };
  const parent = path.dirname(path.resolve(dir));
  return writeDirAtomic(parent, path.basename(dir), (tmp) => writeModelFiles(model, tmp, sidecar));
}

/** Writes the model's model.json and group1-shard1of1.bin, and `sidecar` as facenet.json, into the folder `dir`. */
export async function writeModelFiles(model: tfl.LayersModel, dir: string, sidecar: FaceNetSidecar): Promise<void> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (!artifacts?.modelTopology || !artifacts.weightSpecs || !artifacts.weightData) {
    throw new Error('Internal error: model.save produced no topology or weights.');
  }
  const weightData = tf.io.CompositeArrayBuffer.join(artifacts.weightData);
  const modelJson = {
    format: 'layers-model',
    generatedBy: `TensorFlow.js tfjs-layers v${tfl.version_layers}`,
    convertedBy: null,
    modelTopology: artifacts.modelTopology,
    weightsManifest: [{ paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs }],
  };
  await writeFileDurable(path.join(dir, WEIGHTS_BIN), Buffer.from(weightData));
  await writeFileDurable(path.join(dir, MODEL_JSON), JSON.stringify(modelJson));
  await writeFileDurable(path.join(dir, SIDECAR_JSON), JSON.stringify(sidecar, null, 2));
}

/** Loads an exported model directory (model.json + its weight files) and its sidecar, if present. */
export async function loadExportedModel(dir: string): Promise<{ model: tfl.LayersModel; sidecar: FaceNetSidecar | null }> {
  const modelPath = path.join(dir, MODEL_JSON);
  let modelJson: { modelTopology?: object; weightsManifest?: tf.io.WeightsManifestConfig };
  try {
    modelJson = JSON.parse(await fs.readFile(modelPath, 'utf8')) as typeof modelJson;
  } catch (err) {
    throw new Error(`Cannot read the exported model ${modelPath}: ${(err as Error).message}. Point to a directory written by exportModel.`);
  }
  if (!modelJson.modelTopology || !modelJson.weightsManifest) {
    throw new Error(`${modelPath} has no modelTopology or weightsManifest; it is not a tfjs layers model.`);
  }
  const weightSpecs: tf.io.WeightsManifestEntry[] = [];
  const buffers: Buffer[] = [];
  for (const group of modelJson.weightsManifest) {
    weightSpecs.push(...group.weights);
    for (const p of group.paths) buffers.push(await fs.readFile(path.join(dir, p)));
  }
  const all = Buffer.concat(buffers);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  const model = await tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs, weightData }));
  let sidecar: FaceNetSidecar | null = null;
  try {
    sidecar = JSON.parse(await fs.readFile(path.join(dir, SIDECAR_JSON), 'utf8')) as FaceNetSidecar;
  } catch {
    sidecar = null; // a plain tfjs model without our sidecar is still usable as an initialisation
  }
  return { model, sidecar };
}
