// Picks and initialises the tfjs backend. The native TensorFlow bindings are optional
// dependencies (their install script downloads libtensorflow), so they are loaded dynamically
// and a missing one is reported with how to install it, never as a crash at import time.
import * as tf from '@tensorflow/tfjs-core';
import type { BackendName } from '../config/schema';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { installedWasmThreads, wasmThreadCount } from './wasm/threads';
import { GpuUnusableError, gpuDevice, loadTensorflowGpu, tensorflowGpuLoaded, type GpuReport } from './native/gpu';

export type ConcreteBackend = Exclude<BackendName, 'auto'>;

/** Fastest first: what `auto` tries, in order. */
export const AUTO_ORDER: readonly ConcreteBackend[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

export class BackendUnavailableError extends Error {
  override readonly name = 'BackendUnavailableError';
}

const INSTALL_HINT: Record<ConcreteBackend, string> = {
  'tensorflow-gpu':
    'run `bash scripts/install-tfjs-node-offline.sh --gpu` (builds it against the CUDA 12 TensorFlow of the PyPI tensorflow wheel, with CUDA and cuDNN from the nvidia-*-cu12 wheels: only the NVIDIA driver is needed), or npm install @tensorflow/tfjs-node-gpu@4.22.0 on a machine with internet and CUDA 11.2 + cuDNN 8.1 installed',
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

/** tensorflow-gpu's versions and devices once it loaded (see ./gpu). */
let gpuReport: GpuReport | undefined;

async function register(backend: ConcreteBackend, auto = false): Promise<void> {
  switch (backend) {
    case 'tensorflow-gpu':
      assertNativeBinding('@tensorflow/tfjs-node-gpu');
      gpuReport = await loadTensorflowGpu(auto);
      return;
    case 'tensorflow':
      assertNativeBinding('@tensorflow/tfjs-node');
      if (tensorflowGpuLoaded()) throw new GpuUnusableError('tensorflow-gpu is already loaded in this process, and tfjs-node cannot load beside it: use one of the two per worker process.');
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
  /** Where the tensors live: 'CPU', or 'GPU <index>: <name>' when tensorflow-gpu runs on a GPU. */
  device: string;
  /** tensorflow-gpu only: TensorFlow, CUDA and cuDNN versions, the visible GPUs, and why none is used (problem). */
  gpu?: GpuReport;
}

function chosen(backend: ConcreteBackend, reason: string): BackendChoice {
  const choice: BackendChoice = { backend, tfjsName: tf.getBackend(), reason, device: 'CPU' };
  if (backend === 'wasm') choice.wasmThreads = installedWasmThreads();
  if (backend === 'tensorflow-gpu' && gpuReport) {
    choice.gpu = gpuReport;
    choice.device = gpuDevice(gpuReport);
    if (gpuReport.problem) choice.reason += `; on the CPU: ${gpuReport.problem}`;
  }
  if (reason.startsWith('auto')) choice.reason += `; device: ${choice.device}`;
  return choice;
}

async function tryActivate(backend: ConcreteBackend, auto = false): Promise<void> {
  try {
    await register(backend, auto);
  } catch (err) {
    // Installed but unusable here (no GPU, or the other native package is loaded): the message says what to do.
    if (err instanceof GpuUnusableError) throw new BackendUnavailableError(err.message);
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

/** Short: "The X backend is not installed", or for tensorflow-gpu why no GPU is usable. */
function passOverReason(err: unknown): string {
  const line = firstLine(err);
  const gpu = /^The tensorflow-gpu backend found (no usable GPU: .*?)\. To train on the CPU/.exec(line);
  return gpu ? gpu[1]! : line.split(' (')[0]!;
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
      await tryActivate(candidate, true);
      const reason = passedOver.length
        ? `auto: fastest that loads; passed over ${passedOver.join('; ')}`
        : 'auto: fastest backend, loaded';
      return chosen(candidate, reason);
    } catch (err) {
      passedOver.push(`${candidate} (${passOverReason(err)})`);
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
      // As auto sees it: tensorflow-gpu counts only with a usable GPU.
      await register(candidate, true);
      available.push(candidate);
    } catch (err) {
      const installed = err instanceof GpuUnusableError; // installed, but no usable GPU here
      missing.push({ backend: candidate, why: installed ? firstLine(err) : `${firstLine(err)}; to install: ${INSTALL_HINT[candidate]}` });
    }
  }
  return { available, missing };
}
