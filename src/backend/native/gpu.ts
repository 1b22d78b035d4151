// The tensorflow-gpu backend: @tensorflow/tfjs-node-gpu built by `scripts/install-tfjs-node-offline.sh --gpu`
// against the CUDA 12 TensorFlow of the PyPI `tensorflow` wheel, with the nvidia-*-cu12 wheels' libraries
// beside it. Before TensorFlow loads, deps/gpu-probe (scripts/gpu/gpu-probe.c) reports the CUDA and cuDNN
// versions there, the driver's CUDA version and the visible GPUs; a machine without a usable GPU is then
// refused (or, when the user allows it, run on the CPU) without loading 1 GB of library, and auto moves
// on to the `tensorflow` backend. After loading, TensorFlow itself says whether it took a GPU.
import * as tf from '@tensorflow/tfjs-core';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

/** Lets `backend: tensorflow-gpu` run on the CPU when no GPU is usable, instead of failing. */
export const GPU_CPU_FALLBACK_ENV = 'FACENET_ALLOW_GPU_CPU_FALLBACK';

const PACKAGE = '@tensorflow/tfjs-node-gpu';
const REBUILD = 'run `bash scripts/install-tfjs-node-offline.sh --gpu` again';

export class GpuUnusableError extends Error {
  override readonly name = 'GpuUnusableError';
}

export interface GpuDevice {
  name: string;
  computeCapability: string;
  memoryMiB: number;
}

/** What deps/gpu-probe prints: versions as CUDA encodes them (12020 = 12.2; cuDNN 8904 = 8.9.4). */
export interface GpuProbeReport {
  cudaRuntime: number | null;
  cudnn: number | null;
  driver: number | null;
  devices: GpuDevice[];
  libraryProblem?: string;
  driverProblem?: string;
}

/** The tensorflow-gpu backend's versions and devices, for the run's memo, report and progress. */
export interface GpuReport {
  /** TensorFlow's own version (TF_Version of the loaded library); absent until it loaded. */
  tensorflow?: string;
  /** CUDA runtime and cuDNN beside the binding, e.g. '12.2' and '8.9.4'. */
  cuda: string | null;
  cudnn: string | null;
  /** Highest CUDA version the NVIDIA driver supports; null without a driver. */
  driverCuda: string | null;
  /** GPUs the driver shows this process (CUDA_VISIBLE_DEVICES applies). */
  devices: GpuDevice[];
  /** Why no GPU is used, or null when TensorFlow runs on one. */
  problem: string | null;
}

export function cudaVersion(v: number | null): string | null {
  return v === null ? null : `${Math.floor(v / 1000)}.${Math.floor((v % 1000) / 10)}`;
}

export function cudnnVersion(v: number | null): string | null {
  return v === null ? null : `${Math.floor(v / 1000)}.${Math.floor((v % 1000) / 100)}.${v % 100}`;
}

/** Why this probe report rules out the GPU, or null when TensorFlow should be able to use one. */
export function gpuProblem(p: GpuProbeReport): string | null {
  if (p.libraryProblem) return `the CUDA libraries beside the binding are incomplete (${p.libraryProblem}); ${REBUILD}`;
  if (p.driverProblem) return p.driverProblem;
  if (p.driver !== null && p.cudaRuntime !== null && Math.floor(p.driver / 1000) < Math.floor(p.cudaRuntime / 1000)) {
    return (
      `the NVIDIA driver supports CUDA ${cudaVersion(p.driver)}, but this TensorFlow needs CUDA ${cudaVersion(p.cudaRuntime)} ` +
      '(an R525 driver or newer): update the NVIDIA driver'
    );
  }
  if (p.devices.length === 0) {
    const visible = process.env['CUDA_VISIBLE_DEVICES'];
    return `the CUDA driver shows no GPU${visible === undefined ? '' : ` (CUDA_VISIBLE_DEVICES=${visible})`}`;
  }
  return null;
}

/** Whether the user allows tensorflow-gpu on the CPU; anything but 1/0/true/false is a mistake to name. */
export function cpuFallbackAllowed(env: NodeJS.ProcessEnv): boolean {
  const raw = (env[GPU_CPU_FALLBACK_ENV] ?? '').trim().toLowerCase();
  if (raw === '' || raw === '0' || raw === 'false') return false;
  if (raw === '1' || raw === 'true') return true;
  throw new GpuUnusableError(`${GPU_CPU_FALLBACK_ENV}=${env[GPU_CPU_FALLBACK_ENV]} is not understood: set it to 1 (allow) or 0 (refuse).`);
}

function refusal(problem: string): GpuUnusableError {
  return new GpuUnusableError(
    `The tensorflow-gpu backend found no usable GPU: ${problem}. To train on the CPU, use backend: tensorflow ` +
      `(or auto, or FACENET_BACKEND=tensorflow); to run tensorflow-gpu's TensorFlow on the CPU anyway, set ${GPU_CPU_FALLBACK_ENV}=1.`,
  );
}

/** Runs deps/gpu-probe of the installed tfjs-node-gpu package. */
export function runGpuProbe(pkgDir: string): GpuProbeReport {
  const probe = path.join(pkgDir, 'deps', 'gpu-probe');
  if (!existsSync(probe)) {
    return { cudaRuntime: null, cudnn: null, driver: null, devices: [], libraryProblem: `${probe} is missing` };
  }
  try {
    return JSON.parse(execFileSync(probe, { encoding: 'utf8', timeout: 30_000 })) as GpuProbeReport;
  } catch (err) {
    const why = String((err as Error).message).split('\n')[0];
    return { cudaRuntime: null, cudnn: null, driver: null, devices: [], libraryProblem: `${probe} failed: ${why}` };
  }
}

export interface GpuLoadDeps {
  env: NodeJS.ProcessEnv;
  probe: () => GpuProbeReport;
  /** Imports the package; returns the loaded binding's TF version and whether it took a GPU. */
  load: () => Promise<{ tfVersion: string; usingGpu: boolean }>;
}

interface NativeBinding {
  TF_Version: string;
  isUsingGpuDevice(): boolean;
}

/** True once tfjs-node-gpu is imported in this process (tfjs-node must then stay out). */
let imported = false;
export function tensorflowGpuLoaded(): boolean {
  return imported;
}

const defaultDeps = (): GpuLoadDeps => ({
  env: process.env,
  probe: () => runGpuProbe(path.dirname(require.resolve(`${PACKAGE}/package.json`))),
  load: async () => {
    // tfjs-node and tfjs-node-gpu both register 'tensorflow', and their libraries share one SONAME:
    // the second one loaded would silently run on the first one's TensorFlow.
    if (!imported && tf.findBackendFactory('tensorflow')) {
      throw new GpuUnusableError(
        'The tensorflow backend (@tensorflow/tfjs-node) is already loaded in this process, and tensorflow-gpu cannot load beside it: ' +
          'use one of the two per worker process (FACENET_BACKEND sets it for a worker).',
      );
    }
    // As for tensorflow: TensorFlow's start-up notices are not for users; warnings and errors still show.
    process.env['TF_CPP_MIN_LOG_LEVEL'] ??= '1';
    await import(PACKAGE as string);
    imported = true;
    const binding = (tf.findBackend('tensorflow') as unknown as { binding: NativeBinding }).binding;
    return { tfVersion: binding.TF_Version, usingGpu: binding.isUsingGpuDevice() };
  },
});

/**
 * Loads tfjs-node-gpu if a GPU is usable. Without one, auto is refused (it moves on to `tensorflow`),
 * and so is an explicit request unless FACENET_ALLOW_GPU_CPU_FALLBACK=1 allows the CPU.
 */
export async function loadTensorflowGpu(auto: boolean, deps: GpuLoadDeps = defaultDeps()): Promise<GpuReport> {
  const allowCpu = !auto && cpuFallbackAllowed(deps.env);
  const probe = deps.probe();
  let problem = gpuProblem(probe);
  if (problem && !allowCpu) throw refusal(problem);
  const { tfVersion, usingGpu } = await deps.load();
  if (!problem && !usingGpu) {
    problem = "TensorFlow did not take the GPU the driver shows (its log above says why, e.g. a CUDA library it could not open or a GPU too old for it)";
    // Loaded now: an explicit request without the fallback fails; auto has no other native backend left to load.
    if (!auto && !allowCpu) throw refusal(problem);
  }
  return {
    tensorflow: tfVersion,
    cuda: cudaVersion(probe.cudaRuntime),
    cudnn: cudnnVersion(probe.cudnn),
    driverCuda: cudaVersion(probe.driver),
    devices: probe.devices,
    problem,
  };
}

/** The device string of a loaded tensorflow-gpu: the GPU the binding runs on, or CPU and why. */
export function gpuDevice(report: GpuReport): string {
  // tfjs-node-gpu's binding takes the last GPU TensorFlow lists (binding/tfjs_backend.cc).
  const gpu = report.devices[report.devices.length - 1];
  if (report.problem || !gpu) return 'CPU';
  return `GPU ${report.devices.length - 1}: ${gpu.name}`;
}

/** One line for logs: versions, device and, on the CPU, why. */
export function describeGpuReport(report: GpuReport): string {
  const versions = `TensorFlow ${report.tensorflow ?? '?'}, CUDA ${report.cuda ?? '?'}, cuDNN ${report.cudnn ?? '?'}, driver CUDA ${report.driverCuda ?? 'none'}`;
  return report.problem ? `${versions}; on the CPU: ${report.problem}` : `${versions}; on ${gpuDevice(report)}`;
}
