// Picks and initialises the tfjs backend. The native TensorFlow bindings are optional
// dependencies (their install script downloads libtensorflow), so they are loaded dynamically
// and a missing one is reported with how to install it, never as a crash at import time.
import * as tf from '@tensorflow/tfjs-core';
import type { BackendName } from '../config/schema';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { installedWasmThreads, wasmThreadCount } from './wasm/threads';

export type ConcreteBackend = Exclude<BackendName, 'auto'>;

/** Fastest first: what `auto` tries, in order. */
export const AUTO_ORDER: readonly ConcreteBackend[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

export class BackendUnavailableError extends Error {
  override readonly name = 'BackendUnavailableError';
}

const INSTALL_HINT: Record<ConcreteBackend, string> = {
  'tensorflow-gpu':
    'npm install @tensorflow/tfjs-node-gpu@4.22.0 on a machine with CUDA and internet (npm >= 11 also needs `npm install-scripts approve @tensorflow/tfjs-node-gpu` so its install script can fetch libtensorflow)',
  tensorflow:
    'run `bash scripts/install-tfjs-node-offline.sh` (builds it against the TensorFlow C library of the PyPI tensorflow-cpu wheel), or npm install @tensorflow/tfjs-node@4.22.0 on a machine with internet (npm >= 11 also needs `npm install-scripts approve @tensorflow/tfjs-node`)',
  wasm: 'npm install @tensorflow/tfjs-backend-wasm@4.22.0 (a regular dependency: run npm ci)',
  cpu: 'npm install @tensorflow/tfjs-backend-cpu@4.22.0 (a regular dependency: run npm ci)',
};

/** tfjs registers each backend under its own name; tfjs-node and -gpu both register 'tensorflow'. */
const TFJS_NAME: Record<ConcreteBackend, string> = {
  'tensorflow-gpu': 'tensorflow',
  tensorflow: 'tensorflow',
  wasm: 'wasm',
  cpu: 'cpu',
};

/**
 * tfjs-node(-gpu) registers ~150 kernels before it looks for its native binding, so importing a copy
 * installed without one (npm ci skips its download script) floods the log with "already registered"
 * warnings when the other package loads next. Look for the binding first.
 */
function assertNativeBinding(pkg: string): void {
  let dir: string;
  try {
    dir = path.dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    throw new Error(`Cannot find module '${pkg}'`);
  }
  const lib = path.join(dir, 'lib');
  const built = existsSync(lib) && readdirSync(lib).some((d) => existsSync(path.join(lib, d, 'tfjs_binding.node')));
  if (!built) throw new Error(`${pkg} is installed without its native binding (no ${lib}/napi-v*/tfjs_binding.node)`);
}

async function register(backend: ConcreteBackend): Promise<void> {
  switch (backend) {
    case 'tensorflow-gpu':
      assertNativeBinding('@tensorflow/tfjs-node-gpu');
      await import('@tensorflow/tfjs-node-gpu' as string);
      return;
    case 'tensorflow':
      assertNativeBinding('@tensorflow/tfjs-node');
      // TensorFlow's start-up notices (oneDNN, CPU features) are not for users; warnings and errors still show.
      process.env['TF_CPP_MIN_LOG_LEVEL'] ??= '1';
      await import('@tensorflow/tfjs-node' as string);
      return;
    case 'wasm': {
      await import('@tensorflow/tfjs-backend-wasm');
      (await import('./wasm/threads')).installThreadedWasm(wasmThreadCount());
      return;
    }
    case 'cpu':
      await import('@tensorflow/tfjs-backend-cpu');
      return;
  }
}

/**
 * wasm lacks kernels a convnet's backward pass needs, and cpu has a very slow weight gradient;
 * both get composite kernels built from their fast ones once they are active. The native backend gets
 * TensorFlow's fused ReLU gradient; it and wasm get a fused BatchNorm for training, and wasm a one-pass Adam update.
 */
async function afterActivate(backend: ConcreteBackend): Promise<void> {
  if (backend === 'tensorflow' || backend === 'tensorflow-gpu') (await import('./native/kernels')).registerNativeGradients();
  const kernels = await import('./wasm/training-kernels');
  if (backend === 'wasm') {
    kernels.registerWasmTrainingKernels();
    (await import('./wasm/batch-norm')).registerWasmBatchNorm();
    (await import('./wasm/adam')).registerWasmAdam();
  }
  if (backend === 'cpu') kernels.registerCpuTrainingKernels();
}

export interface BackendChoice {
  backend: ConcreteBackend;
  tfjsName: string;
  /** Why this one: what auto tried and why the faster ones were passed over. */
  reason: string;
  /** Threads of the wasm backend's build (only for wasm). */
  wasmThreads?: number;
}

function chosen(backend: ConcreteBackend, reason: string): BackendChoice {
  const choice: BackendChoice = { backend, tfjsName: tf.getBackend(), reason };
  if (backend === 'wasm') choice.wasmThreads = installedWasmThreads();
  return choice;
}

async function tryActivate(backend: ConcreteBackend): Promise<void> {
  try {
    await register(backend);
  } catch (err) {
    throw new BackendUnavailableError(
      `The ${backend} backend is not installed (${firstLine(err)}). To use it: ${INSTALL_HINT[backend]}. ` +
        `Or choose another with backend: auto | wasm | cpu.`,
    );
  }
  const ok = await tf.setBackend(TFJS_NAME[backend]);
  if (!ok) throw new BackendUnavailableError(`The ${backend} backend is installed but failed to initialise.`);
  await tf.ready();
  await afterActivate(backend);
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0] ?? '';
}

/** Initialises the requested backend (or the fastest that loads, for auto) and says which and why. */
export async function initBackend(requested: BackendName): Promise<BackendChoice> {
  // A bad FACENET_WASM_THREADS is the user's to fix: say so, rather than pass wasm over as not installed.
  if (requested === 'wasm' || requested === 'auto') wasmThreadCount();
  if (requested !== 'auto') {
    await tryActivate(requested);
    return chosen(requested, 'requested in the config');
  }
  const passedOver: string[] = [];
  for (const candidate of AUTO_ORDER) {
    try {
      await tryActivate(candidate);
      const reason = passedOver.length
        ? `auto: fastest that loads; passed over ${passedOver.join('; ')}`
        : 'auto: fastest backend, loaded';
      return chosen(candidate, reason);
    } catch (err) {
      passedOver.push(`${candidate} (${firstLine(err).split(' (')[0]})`);
    }
  }
  throw new BackendUnavailableError(`No tfjs backend could be initialised: ${passedOver.join('; ')}`);
}

/** Which backends can be loaded here, without changing the active one more than needed (for tests and bench). */
export async function availableBackends(): Promise<{ available: ConcreteBackend[]; missing: Array<{ backend: ConcreteBackend; why: string }> }> {
  const available: ConcreteBackend[] = [];
  const missing: Array<{ backend: ConcreteBackend; why: string }> = [];
  for (const candidate of AUTO_ORDER) {
    try {
      await register(candidate);
      available.push(candidate);
    } catch (err) {
      missing.push({ backend: candidate, why: `${firstLine(err)}; to install: ${INSTALL_HINT[candidate]}` });
    }
  }
  return { available, missing };
}
