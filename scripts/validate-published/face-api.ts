// Loads @vladmandic/face-api (a devDependency) on OUR tfjs-core 4.22, for validating the evaluator on
// a published model. Its Node builds require '@tensorflow/tfjs' (the union package, not installed
// here) or tfjs-node; the wasm build only needs tfjs-core's ops plus the wasm backend, so the one
// missing module name is redirected to tfjs-core. Sharing our tfjs instance also means tensors we
// build from sharp's raw RGB are the same class face-api checks with `instanceof tf.Tensor`.
import * as path from 'node:path';
import Module from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import { registerChainedOps } from './chained-ops';

/** What the validation needs of face-api; typed loosely on purpose (its bundled .d.ts needs tfjs). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type FaceApi = any;

export type PublishedBackend = 'wasm' | 'cpu';

export interface LoadFaceApiOptions {
  backend: PublishedBackend;
  /** Folder with the *-weights_manifest.json + .bin files; default: the package's own model/. */
  modelDir?: string;
}

const PACKAGE = '@vladmandic/face-api';

/** The model/ folder the npm package ships (weights of the published nets). */
export function faceApiModelDir(): string {
  return path.join(path.dirname(require.resolve(`${PACKAGE}/package.json`)), 'model');
}

let redirected = false;
function redirectTfjsToCore(): void {
  if (redirected) return;
  redirected = true;
  const core = require.resolve('@tensorflow/tfjs-core');
  // Module._resolveFilename is internal but stable; this only ever rewrites the one name that is absent.
  const mod = Module as unknown as { _resolveFilename: (request: string, ...rest: unknown[]) => string };
  const original = mod._resolveFilename;
  mod._resolveFilename = function (request: string, ...rest: unknown[]): string {
    return original.call(this, request === '@tensorflow/tfjs' ? core : request, ...rest);
  };
}

let loaded: Promise<FaceApi> | undefined;

/**
 * Returns face-api with the SSD MobileNet v1 detector, the 68-landmark net and the 128-d recognition
 * net loaded from disk. Sets the tfjs backend for the whole process (this is a script-only helper).
 */
export function loadFaceApi(opts: LoadFaceApiOptions): Promise<FaceApi> {
  loaded ??= load(opts);
  return loaded;
}

async function load(opts: LoadFaceApiOptions): Promise<FaceApi> {
  // face-api's code uses chained ops (x.div(255)); the union package registers them, tfjs-core alone does not.
  registerChainedOps();
  if (opts.backend === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
  else await import('@tensorflow/tfjs-backend-cpu');
  if (!(await tf.setBackend(opts.backend))) throw new Error(`published model: the ${opts.backend} backend failed to initialise`);
  await tf.ready();

  redirectTfjsToCore();
  let faceapi: FaceApi;
  try {
    // require, not import(): the redirect above lives in the CommonJS resolver, which import() bypasses.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    faceapi = require(`${PACKAGE}/dist/face-api.node-wasm.js`);
  } catch (err) {
    throw new Error(
      `published model: cannot load ${PACKAGE} (${(err as Error).message.split('\n')[0]}). ` +
        `It is a devDependency: run npm install (or npm install --save-dev ${PACKAGE}@1.7.15).`,
    );
  }
  const dir = opts.modelDir ?? faceApiModelDir();
  await faceapi.nets.ssdMobilenetv1.loadFromDisk(dir);
  await faceapi.nets.tinyFaceDetector.loadFromDisk(dir);
  await faceapi.nets.faceLandmark68Net.loadFromDisk(dir);
  await faceapi.nets.faceRecognitionNet.loadFromDisk(dir);
  return faceapi;
}
