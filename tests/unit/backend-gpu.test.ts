// The tensorflow-gpu backend (@tensorflow/tfjs-node-gpu built by `scripts/install-tfjs-node-offline.sh --gpu`
// against the PyPI CUDA 12 TensorFlow): what it refuses and reports without a GPU (decisions tested on probe
// reports, so they run everywhere), and, where the binding is built, the real thing: it loads, reports its
// TensorFlow/CUDA/cuDNN versions and whether a GPU is visible, and three Adam steps of a tiny ResNet-18 on it
// give the weights the `tensorflow` backend gives. tfjs-node and tfjs-node-gpu cannot share a process, so
// each backend trains in a child process running this file in child mode.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { initBackend, BackendUnavailableError, type BackendChoice } from '../../src/backend';
import {
  GPU_CPU_FALLBACK_ENV, cpuFallbackAllowed, cudaVersion, cudnnVersion, describeGpuReport, gpuDevice, gpuProblem,
  loadTensorflowGpu, runGpuProbe, type GpuLoadDeps, type GpuProbeReport,
} from '../../src/backend/native/gpu';
import { buildEmbeddingModel, type EmbeddingModelOptions } from '../../src/model';
import { tripletLoss } from '../../src/loss';
import { createOptimizer, defaultEmbed, trainStep } from '../../src/train';
import { Rng } from '../../src/util/rng';

const CHILD = 'FACENET_TEST_GPU_CHILD';

// ---- child mode: train on one native backend and print the outcome as JSON ----------------------------

const TINY: EmbeddingModelOptions = {
  architecture: 'resnet18', widths: [4, 8, 8, 8], stem: 'light', embeddingDim: 8, inputShape: [16, 16, 1], seed: 7,
};
const STEPS = 3;

interface ChildOutcome {
  choice: BackendChoice;
  losses: number[];
  weights: number[][];
  /** Which libtensorflow_cc.so.2 the child mapped (Linux /proc/self/maps): proof of which package ran. */
  tensorflowLibraries: string[];
}

async function trainInChild(backend: 'tensorflow' | 'tensorflow-gpu'): Promise<ChildOutcome> {
  // Initial weights from the deterministic cpu backend, so both children start from the same ones.
  await tf.setBackend('cpu');
  const init = buildEmbeddingModel(TINY);
  const initial = init.getWeights().map((w) => ({ values: w.dataSync().slice(), shape: w.shape }));
  init.dispose();

  const choice = await initBackend(backend);
  const model = buildEmbeddingModel(TINY);
  model.setWeights(initial.map((w) => tf.tensor(w.values, w.shape)));
  const named = model.trainableWeights.map((wt) => ({ name: wt.originalName ?? wt.name, variable: wt.read() as tf.Variable }));
  const optimizer = createOptimizer({ name: 'adam', weightDecay: 0, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, momentum: 0.9 }, named);
  const inputs = {
    model,
    params: named.map((p) => p.variable),
    optimizer,
    lossFn: (e: tf.Tensor2D, l: tf.Tensor1D) => tripletLoss(e, l, { miner: 'batch-all', margin: 0.2, distance: 'euclidean' }),
    embed: defaultEmbed,
    clipGradNorm: null,
  };
  const rng = new Rng(4242);
  const losses: number[] = [];
  for (let step = 0; step < STEPS; step++) {
    const x = tf.tensor4d(Float32Array.from({ length: 8 * 16 * 16 }, () => rng.next() * 2 - 1), [8, 16, 16, 1]);
    const labels = tf.tensor1d([0, 0, 0, 0, 1, 1, 1, 1], 'int32');
    losses.push(trainStep(inputs, x, labels, 1e-2, { epoch: 0, step }).loss);
    tf.dispose([x, labels]);
  }
  const weights = model.getWeights().map((w) => Array.from(w.dataSync()));
  const maps = readFileSync('/proc/self/maps', 'utf8').split('\n');
  const tensorflowLibraries = [...new Set(maps.filter((l) => l.endsWith('/libtensorflow_cc.so.2')).map((l) => l.slice(l.indexOf('/'))))];
  return { choice, losses, weights, tensorflowLibraries };
}

if (process.env[CHILD]) {
  const backend = process.env[CHILD] as 'tensorflow' | 'tensorflow-gpu';
  trainInChild(backend).then(
    (outcome) => process.stdout.write(`${JSON.stringify(outcome)}\n`),
    (err: Error) => {
      process.stderr.write(`${err.name}: ${err.message}\n`);
      process.exitCode = 1;
    },
  );
} else {
  registerTests();
}

// ---- the tests ----------------------------------------------------------------------------------------

function bindingBuilt(pkg: string): boolean {
  let dir: string;
  try {
    dir = path.dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    return false;
  }
  const lib = path.join(dir, 'lib');
  return existsSync(lib) && readdirSync(lib).some((d) => existsSync(path.join(lib, d, 'tfjs_binding.node')));
}

function runChild(backend: 'tensorflow' | 'tensorflow-gpu', env: NodeJS.ProcessEnv): ChildOutcome {
  const out = execFileSync(process.execPath, ['--import', 'tsx', __filename], {
    env: { ...process.env, ...env, [CHILD]: backend, TF_CPP_MIN_LOG_LEVEL: '2' },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 << 20,
  });
  return JSON.parse(out.trim().split('\n').pop()!) as ChildOutcome;
}

const NO_DRIVER: GpuProbeReport = {
  cudaRuntime: 12020, cudnn: 8904, driver: null, devices: [],
  driverProblem: 'libcuda.so.1 not found: no NVIDIA driver is installed (or it is not visible in this container)',
};
const A100 = { name: 'NVIDIA A100-SXM4-40GB', computeCapability: '8.0', memoryMiB: 40536 };
const WITH_GPUS: GpuProbeReport = { cudaRuntime: 12020, cudnn: 8904, driver: 12040, devices: [{ ...A100, name: 'Tesla T4' }, A100] };

function fakeDeps(probe: GpuProbeReport, env: NodeJS.ProcessEnv, usingGpu: boolean): GpuLoadDeps & { loads: number } {
  const deps = {
    loads: 0,
    env,
    probe: () => probe,
    load: () => {
      deps.loads++;
      return Promise.resolve({ tfVersion: '2.15.1', usingGpu });
    },
  };
  return deps;
}

function registerTests(): void {
  void test('versions decode as CUDA and cuDNN write them', () => {
    assert.equal(cudaVersion(12020), '12.2');
    assert.equal(cudaVersion(11080), '11.8');
    assert.equal(cudaVersion(null), null);
    assert.equal(cudnnVersion(8904), '8.9.4');
    assert.equal(cudnnVersion(8100), '8.1.0');
  });

  void test('a probe report rules the GPU out for each reason, with what to do', () => {
    assert.match(gpuProblem(NO_DRIVER)!, /libcuda\.so\.1 not found: no NVIDIA driver/);
    assert.match(
      gpuProblem({ ...NO_DRIVER, cudaRuntime: null, libraryProblem: 'libcudnn.so.8: cannot open shared object file' })!,
      /incomplete \(libcudnn\.so\.8: cannot open.*install-tfjs-node-offline\.sh --gpu/,
    );
    assert.match(gpuProblem({ ...WITH_GPUS, driver: 11040 })!, /driver supports CUDA 11\.4, but this TensorFlow needs CUDA 12\.2.*update the NVIDIA driver/);
    assert.match(gpuProblem({ ...WITH_GPUS, devices: [] })!, /shows no GPU/);
    assert.equal(gpuProblem(WITH_GPUS), null);
    assert.equal(gpuProblem({ ...WITH_GPUS, driver: 12000 }), null, 'a CUDA 12.0 driver runs 12.2 (minor-version compatibility)');
  });

  void test(`${GPU_CPU_FALLBACK_ENV} takes 1/0/true/false and names itself otherwise`, () => {
    assert.equal(cpuFallbackAllowed({}), false);
    assert.equal(cpuFallbackAllowed({ [GPU_CPU_FALLBACK_ENV]: '0' }), false);
    assert.equal(cpuFallbackAllowed({ [GPU_CPU_FALLBACK_ENV]: '1' }), true);
    assert.equal(cpuFallbackAllowed({ [GPU_CPU_FALLBACK_ENV]: 'TRUE' }), true);
    assert.throws(() => cpuFallbackAllowed({ [GPU_CPU_FALLBACK_ENV]: 'yes' }), /FACENET_ALLOW_GPU_CPU_FALLBACK=yes is not understood: set it to 1/);
  });

  void test('without a usable GPU: explicit tensorflow-gpu is refused unless the CPU fallback is allowed; auto never loads it', async () => {
    const refused = fakeDeps(NO_DRIVER, {}, false);
    await assert.rejects(loadTensorflowGpu(false, refused), (err: Error) => {
      assert.match(err.message, /^The tensorflow-gpu backend found no usable GPU: libcuda\.so\.1 not found/);
      assert.match(err.message, /use backend: tensorflow .*set FACENET_ALLOW_GPU_CPU_FALLBACK=1/);
      return true;
    });
    assert.equal(refused.loads, 0, 'TensorFlow was loaded although the GPU was ruled out');

    const auto = fakeDeps(NO_DRIVER, { [GPU_CPU_FALLBACK_ENV]: '1' }, false);
    await assert.rejects(loadTensorflowGpu(true, auto), /no usable GPU/);
    assert.equal(auto.loads, 0, 'auto must leave the CPU to the tensorflow backend, fallback or not');

    const fallback = await loadTensorflowGpu(false, fakeDeps(NO_DRIVER, { [GPU_CPU_FALLBACK_ENV]: '1' }, false));
    assert.deepEqual(fallback, { tensorflow: '2.15.1', cuda: '12.2', cudnn: '8.9.4', driverCuda: null, devices: [], problem: NO_DRIVER.driverProblem });
    assert.equal(gpuDevice(fallback), 'CPU');
    assert.match(describeGpuReport(fallback), /^TensorFlow 2\.15\.1, CUDA 12\.2, cuDNN 8\.9\.4, driver CUDA none; on the CPU: libcuda/);
  });

  void test('with GPUs: the device is the last one (the one tfjs-node-gpu binds); a GPU TensorFlow did not take is reported', async () => {
    const onGpu = await loadTensorflowGpu(false, fakeDeps(WITH_GPUS, {}, true));
    assert.equal(onGpu.problem, null);
    assert.equal(gpuDevice(onGpu), 'GPU 1: NVIDIA A100-SXM4-40GB');
    assert.match(describeGpuReport(onGpu), /driver CUDA 12\.4; on GPU 1: NVIDIA A100/);

    await assert.rejects(loadTensorflowGpu(false, fakeDeps(WITH_GPUS, {}, false)), /found no usable GPU: TensorFlow did not take the GPU the driver shows/);
    const auto = await loadTensorflowGpu(true, fakeDeps(WITH_GPUS, {}, false));
    assert.match(auto.problem!, /did not take the GPU/);
    assert.equal(gpuDevice(auto), 'CPU');
  });

  const gpuBuilt = bindingBuilt('@tensorflow/tfjs-node-gpu');
  const notBuilt = 'the tensorflow-gpu binding is not built here: run `bash scripts/install-tfjs-node-offline.sh --gpu` (2.4 GB from PyPI)';
  const gpuPkg = (): string => path.dirname(require.resolve('@tensorflow/tfjs-node-gpu/package.json'));

  void test('the built binding’s probe reports CUDA 12 and cuDNN 8 beside it, and whether a GPU is visible', (t) => {
    if (!gpuBuilt) return t.skip(notBuilt);
    const probe = runGpuProbe(gpuPkg());
    t.diagnostic(`gpu-probe: ${JSON.stringify(probe)}`);
    assert.equal(probe.libraryProblem, undefined);
    assert.equal(cudaVersion(probe.cudaRuntime)?.split('.')[0], '12');
    assert.equal(cudnnVersion(probe.cudnn)?.split('.')[0], '8');
    if (probe.driver === null) assert.match(probe.driverProblem!, /libcuda\.so\.1/);
  });

  void test('initBackend("tensorflow-gpu") without a GPU fails saying what to do; auto passes it over and names the device', async (t) => {
    if (!gpuBuilt) return t.skip(notBuilt);
    const problem = gpuProblem(runGpuProbe(gpuPkg()));
    if (!problem) return t.skip('a GPU is usable here: nothing to refuse');
    const saved = process.env[GPU_CPU_FALLBACK_ENV];
    delete process.env[GPU_CPU_FALLBACK_ENV];
    try {
      await assert.rejects(initBackend('tensorflow-gpu'), (err: unknown) => {
        assert.ok(err instanceof BackendUnavailableError, String(err));
        assert.match(err.message, /found no usable GPU: .*FACENET_ALLOW_GPU_CPU_FALLBACK=1/);
        return true;
      });
      const choice = await initBackend('auto');
      assert.notEqual(choice.backend, 'tensorflow-gpu');
      assert.equal(choice.device, 'CPU');
      assert.match(choice.reason, /passed over tensorflow-gpu \(no usable GPU: .*\).*; device: CPU$/);
    } finally {
      if (saved !== undefined) process.env[GPU_CPU_FALLBACK_ENV] = saved;
    }
  });

  void test('three Adam steps on tensorflow-gpu give the tensorflow backend’s weights; its versions and device are reported', (t) => {
    if (!gpuBuilt) return t.skip(notBuilt);
    if (!bindingBuilt('@tensorflow/tfjs-node')) return t.skip('the tensorflow binding to compare with is not built: run `bash scripts/install-tfjs-node-offline.sh`');
    const gpu = runChild('tensorflow-gpu', { [GPU_CPU_FALLBACK_ENV]: '1' });
    const cpu = runChild('tensorflow', {});
    const report = gpu.choice.gpu!;
    t.diagnostic(`tensorflow-gpu: ${gpu.choice.device}; ${describeGpuReport(report)}`);
    assert.equal(gpu.choice.backend, 'tensorflow-gpu');
    assert.match(report.tensorflow!, /^2\.\d+\.\d+/);
    assert.equal(report.cuda?.split('.')[0], '12');
    assert.match(report.cudnn!, /^8\.\d+\.\d+$/);
    if (report.problem) {
      assert.equal(gpu.choice.device, 'CPU');
      assert.match(gpu.choice.reason, /; on the CPU: /);
    } else {
      assert.match(gpu.choice.device, /^GPU \d+: \S/);
    }
    assert.equal(cpu.choice.backend, 'tensorflow');
    assert.equal(cpu.choice.device, 'CPU');
    // Each child ran its own package's TensorFlow (the CUDA build for tensorflow-gpu).
    assert.deepEqual(gpu.tensorflowLibraries.map((l) => l.split('/node_modules/')[1]), ['@tensorflow/tfjs-node-gpu/deps/lib/libtensorflow_cc.so.2']);
    assert.deepEqual(cpu.tensorflowLibraries.map((l) => l.split('/node_modules/')[1]), ['@tensorflow/tfjs-node/deps/lib/libtensorflow_cc.so.2']);

    // Same TensorFlow on the CPU: the same kernels, so float32 agrees closely; a GPU sums in other orders.
    const tol = report.problem ? 1e-5 : 1e-3;
    assert.ok(cpu.losses.every((l) => l > 0), `the fixture should give non-zero losses: ${cpu.losses.join(', ')}`);
    gpu.losses.forEach((l, i) => assert.ok(Math.abs(l - cpu.losses[i]!) <= tol * Math.max(1, Math.abs(cpu.losses[i]!)), `loss ${i}: ${l} vs ${cpu.losses[i]}`));
    assert.equal(gpu.weights.length, cpu.weights.length);
    let maxDiff = 0;
    gpu.weights.forEach((w, i) => {
      const ref = cpu.weights[i]!;
      assert.equal(w.length, ref.length, `weight ${i} length`);
      w.forEach((v, j) => {
        const d = Math.abs(v - ref[j]!);
        maxDiff = Math.max(maxDiff, d);
        assert.ok(d <= tol * Math.max(1, Math.abs(ref[j]!)), `weight ${i}[${j}]: tensorflow-gpu ${v}, tensorflow ${ref[j]}`);
      });
    });
    t.diagnostic(`losses ${gpu.losses.map((l) => l.toFixed(6)).join(', ')}; largest weight difference ${maxDiff.toExponential(2)}`);
  });
}
