// An exported model ready for inference: the tfjs model, its sidecar (facenet.json: preprocessing,
// normalisation, threshold, distance) and an identity (a hash of the exact weights), checked so that a
// directory from another format or a damaged one is refused with a message naming the file.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { loadExportedModel, MODEL_JSON, SIDECAR_JSON, type FaceNetSidecar } from '../train/export';
import { foldedEmbedder, type InferenceEmbedder } from '../model/folded-inference';
import { averageAndRenormalize } from '../eval';
import { InputError } from './errors';

/** The sidecar format this version reads (and src/train/export.ts writes). */
export const SUPPORTED_FORMAT: FaceNetSidecar['format'] = 'facenet-export/1';

export interface FaceModel {
  /** The model directory, resolved. */
  dir: string;
  sidecar: FaceNetSidecar;
  /** SHA-256 of model.json and the weight files: the identity of these exact weights (galleries record it). */
  id: string;
  model: LayersModel;
  /** [height, width, channels] of one input image. */
  inputShape: [number, number, number];
  embeddingDim: number;
  /**
   * Embeddings of normalised images [n, h, w, c] in inference mode (BatchNorm folded), flip-averaged when the
   * sidecar says so: rows of embeddingDim values.
   */
  embed(images: tf.Tensor4D): Float32Array;
  dispose(): void;
}

const HOW_TO_GET_ONE = 'Pass the model/ folder of a finished run (runs/<run-id>/model), which holds model.json, group1-shard1of1.bin and facenet.json.';

/** The sidecar (facenet.json) of an exported model folder, validated; an InputError naming the file otherwise. */
export async function readSidecar(dir: string): Promise<FaceNetSidecar> {
  const file = path.join(dir, SIDECAR_JSON);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    throw new InputError(
      missing ? `${file} is missing: ${dir} is not a model exported by this pipeline. ${HOW_TO_GET_ONE}` : `Cannot read ${file}: ${(err as Error).message}`,
      file,
      err,
    );
  }
  let sidecar: Partial<FaceNetSidecar>;
  try {
    sidecar = JSON.parse(text) as Partial<FaceNetSidecar>;
  } catch (err) {
    throw new InputError(`${file} is not valid JSON (${(err as Error).message}); re-export the model.`, file, err);
  }
  if (sidecar.format !== SUPPORTED_FORMAT) {
    throw new InputError(
      `${file} has format ${JSON.stringify(sidecar.format ?? null)}, but this version of facenet reads "${SUPPORTED_FORMAT}". ` +
        'Use the facenet version that exported it, or export the run again with this one.',
      file,
    );
  }
  const shape = sidecar.inputShape;
  const pre = sidecar.preprocess;
  const problem =
    !Array.isArray(shape) || shape.length !== 3 || !shape.every((d) => Number.isInteger(d) && d > 0)
      ? `inputShape is ${JSON.stringify(shape)}, expected [height, width, channels]`
      : !pre || (pre.channels !== 1 && pre.channels !== 3) || pre.channels !== shape[2]
        ? `preprocess.channels is ${JSON.stringify(pre?.channels)}, but inputShape has ${shape[2]} channels`
        : pre.mean?.length !== pre.channels || pre.std?.length !== pre.channels
          ? `preprocess.mean/std need ${pre.channels} values each`
          : sidecar.distance !== 'euclidean' && sidecar.distance !== 'squared-euclidean'
            ? `distance is ${JSON.stringify(sidecar.distance)}, expected "euclidean" or "squared-euclidean"`
            : sidecar.threshold !== null && !(typeof sidecar.threshold === 'number' && Number.isFinite(sidecar.threshold))
              ? `threshold is ${JSON.stringify(sidecar.threshold)}, expected a number or null`
              : null;
  if (problem) throw new InputError(`${file}: ${problem}; the file is damaged or hand-edited: re-export the model.`, file);
  return sidecar as FaceNetSidecar;
}

/** SHA-256 over model.json and then each weight file named in its manifest, in order. */
async function modelIdentity(dir: string): Promise<string> {
  const hash = createHash('sha256');
  const modelJson = await fs.readFile(path.join(dir, MODEL_JSON));
  hash.update(modelJson);
  const manifest = (JSON.parse(modelJson.toString('utf8')) as { weightsManifest: Array<{ paths: string[] }> }).weightsManifest;
  for (const group of manifest) for (const p of group.paths) hash.update(await fs.readFile(path.join(dir, p)));
  return hash.digest('hex');
}

/** Loads and checks an exported model directory; dispose() the result when done. */
export async function loadFaceModel(dirArg: string): Promise<FaceModel> {
  const dir = path.resolve(dirArg);
  const stat = await fs.stat(dir).catch(() => null);
  if (!stat?.isDirectory()) throw new InputError(`Model directory ${dirArg} ${stat ? 'is not a directory' : 'does not exist'}. ${HOW_TO_GET_ONE}`, dirArg);
  const sidecar = await readSidecar(dir);
  let loaded: { model: LayersModel };
  let id: string;
  try {
    loaded = await loadExportedModel(dir);
    id = await modelIdentity(dir);
  } catch (err) {
    throw new InputError(`Cannot load the model in ${dir}: ${(err as Error).message}`, dir, err);
  }
  const model = loaded.model;
  const inputShape = sidecar.inputShape as [number, number, number];
  const modelInput = (model.inputs[0]?.shape ?? []).slice(1);
  const outShape = model.outputs[0]?.shape ?? [];
  const embeddingDim = outShape[outShape.length - 1];
  if (modelInput.join('x') !== inputShape.join('x') || embeddingDim !== sidecar.embeddingDim) {
    model.dispose();
    throw new InputError(
      `${path.join(dir, SIDECAR_JSON)} describes input ${inputShape.join('x')} and ${sidecar.embeddingDim}-d embeddings, but ${path.join(dir, MODEL_JSON)} ` +
        `takes ${modelInput.join('x')} and gives ${String(embeddingDim)}-d: the two files come from different exports.`,
      dir,
    );
  }
  const embedder: InferenceEmbedder = foldedEmbedder(model);
  const flip = sidecar.flipTTA === true;
  const rows = (x: tf.Tensor4D): Float32Array => {
    const e = embedder.embed(x);
    try {
      return e.dataSync() as Float32Array;
    } finally {
      e.dispose();
    }
  };
  return {
    dir,
    sidecar,
    id,
    model,
    inputShape,
    embeddingDim,
    embed(images) {
      const plain = rows(images);
      if (!flip) return plain;
      const mirrored = tf.reverse(images, 2) as tf.Tensor4D;
      try {
        return averageAndRenormalize(plain, rows(mirrored), embeddingDim);
      } finally {
        mirrored.dispose();
      }
    },
    dispose() {
      embedder.dispose();
      model.dispose();
    },
  };
}
