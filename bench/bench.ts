// npm run bench [-- options]: training and embedding images/s per installed backend and model shape,
// the data path (preprocessing, cache load, batches, LFW pair evaluation), peak memory and live
// tensors per step, optionally side by side with the PyTorch reference. Writes results/bench-<date>.json.
// Speed and memory are measured here, never asserted in timed tests: figures are noisy on a shared
// machine, so compare ratios taken in one run.
import { writeJsonAtomic } from '../src/util/durable-fs';
import { Command, Option } from 'commander';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { availableBackends, initBackend, type ConcreteBackend } from '../src/backend';
import { benchCache, benchPairEval, benchPreprocess } from './data-bench';
import { processPeakRssMiB, RESULT_MARKER, round, RssSampler } from './measure';
import { backendLabel, printReport } from './report';
import { describeShape, resolveShape, SHAPE_IDS, type BenchShape, type ShapeId } from './shapes';
import { benchShape, profileStep, type ShapeResult, type StepProfile } from './tfjs-bench';
import { probeTorch, PYTHON, runTorch, torchArgs, torchScript, TORCH_INSTALL_HINT, type TorchResult } from './torch';
import type { BenchReport, Measurement, TorchSection } from './types';
import { measureTorchConvRates, type ConvRate } from './conv-ceiling';
import { MAX_WASM_THREADS, parseWasmThreadCount, wasmThreadCount } from '../src/backend/wasm/threads';

const PROJECT_ROOT = path.resolve(__dirname, '..');
const ALL_BACKENDS: ConcreteBackend[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

interface Options {
  backends?: string;
  shapes: string;
  steps: number;
  warmup: number;
  cap: number;
  batch: string;
  compareTorch: boolean;
  torchThreads: string;
  cpuShapes: string;
  inProcess: boolean;
  data: boolean;
  profile: boolean;
  conv: boolean;
  wasmThreads?: string;
  out?: string;
}

function list(value: string, allowed: readonly string[], what: string): string[] {
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = items.filter((s) => !allowed.includes(s));
  if (bad.length) throw new Error(`--${what}: unknown ${bad.join(', ')}; choose from ${allowed.join(', ')}`);
  return items;
}

function positiveInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got ${v}`);
    return n;
  };
}

function today(): string {
  return new Date().toISOString().slice(0, 10);
}

/** The thread counts to measure wasm with: --wasm-threads, else the one a run would use here. */
function wasmThreadVariants(option: string | undefined): number[] {
  if (option === undefined) return [wasmThreadCount()];
  return option.split(',').map((v) => {
    const n = parseWasmThreadCount(v);
    if (n === null) throw new Error(`--wasm-threads: each value must be a whole number from 1 to ${MAX_WASM_THREADS}, got "${v}"`);
    return n;
  });
}

interface ChildOutput {
  convRates?: ConvRate[];
  result?: ShapeResult;
  profile?: StepProfile;
  processPeakRssMiB?: number;
  baselineRssMiB?: number;
}

/** Runs bench/run-one.ts in a fresh Node process (same tsx loader) and returns what it printed. */
function runChild(args: string[], timeoutMs: number, wasmThreads?: number): ChildOutput {
  const script = path.join(__dirname, 'run-one.ts');
  const env = wasmThreads === undefined ? process.env : { ...process.env, FACENET_WASM_THREADS: String(wasmThreads) };
  const r = spawnSync(process.execPath, [...process.execArgv, script, ...args], { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, env });
  const line = r.stdout?.split('\n').find((l) => l.startsWith(RESULT_MARKER));
  if (r.status !== 0 || !line) {
    const why = r.error?.message ?? (r.stderr ?? '').trim().split('\n').filter((l) => !l.includes('already registered')).slice(-3).join(' | ');
    throw new Error(`child measurement (${args.join(' ')}) failed: ${why || `exit ${r.status}`}`);
  }
  return JSON.parse(line.slice(RESULT_MARKER.length)) as ChildOutput;
}

function childArgs(backend: string, shape: ShapeId, batch: number | 'config', o: { warmup: number; steps: number; capSeconds: number }): string[] {
  return ['--backend', backend, '--shape', shape, '--batch', String(batch), '--warmup', String(o.warmup), '--steps', String(o.steps), '--cap', String(o.capSeconds)];
}

/** Images/s of the fastest PyTorch setting (thread count) for a shape and mode. */
function bestTorch(entry: TorchSection['results'][number] | undefined, mode: 'train' | 'embed'): TorchResult | undefined {
  const runs = (entry?.runs ?? []).map((r) => r[mode]).filter((r): r is TorchResult => r !== undefined);
  return runs.sort((a, b) => b.images_per_s - a.images_per_s)[0];
}

/** Checks that PyTorch can run; an unavailable one is reported with how to install it, not as an error. */
function startTorch(threads: number[]): TorchSection {
  const probe = probeTorch();
  if (!probe.ok) {
    const message = `PyTorch is not importable by ${PYTHON} (${probe.why}); continuing without the comparison. To compare: ${TORCH_INSTALL_HINT}.`;
    console.warn(message);
    return { available: false, message, threads, results: [] };
  }
  return { available: true, message: `pytorch ${probe.version}`, version: probe.version, threads, results: [] };
}

/** Runs the reference on one shape, once per thread count, right after tfjs measured that shape. */
function torchForShape(section: TorchSection, shape: BenchShape, steps: number): void {
  const script = torchScript(PROJECT_ROOT);
  const entry: TorchSection['results'][number] = { shape: shape.id, runs: [] };
  for (const t of section.threads) {
    try {
      // At least 5 timed steps: a PyTorch step takes about a second, and one more sample is cheap.
      const n = Math.max(steps, 5);
      const train = runTorch(script, torchArgs(shape, 'train', n, t), 600_000);
      const embed = runTorch(script, torchArgs(shape, 'embed', n, t), 600_000);
      entry.runs.push({ threads: t, train, embed });
      console.log(`torch ${shape.id} (${t} thread${t > 1 ? 's' : ''}): train ${train.images_per_s} images/s, embed ${embed.images_per_s} images/s`);
    } catch (err) {
      entry.runs.push({ threads: t, error: (err as Error).message });
      console.warn(`torch ${shape.id} (${t} threads): ${(err as Error).message}`);
    }
  }
  entry.train = bestTorch(entry, 'train');
  entry.embed = bestTorch(entry, 'embed');
  section.results.push(entry);
}

async function main(): Promise<void> {
  const program = new Command()
    .name('bench')
    .description('Training/embedding throughput per backend and shape, data-path timings, memory; optionally vs PyTorch.')
    .option('--backends <list>', `comma-separated, from ${ALL_BACKENDS.join(', ')} (default: every installed one)`)
    .option('--shapes <list>', `comma-separated, from ${SHAPE_IDS.join(', ')}`, SHAPE_IDS.join(','))
    .option('--steps <n>', 'timed steps per measurement (the median is reported)', positiveInt('steps'), 3)
    .option('--warmup <n>', 'untimed steps first (kernel set-up, memory growth)', positiveInt('warmup'), 1)
    .option('--cap <seconds>', 'stop a measurement once its timed steps took this long', positiveInt('cap'), 30)
    .option('--batch <n|config>', "images per step: a number, or 'config' for the config's P x K", '16')
    .option('--compare-torch', 'also run ../shared/bench/torch_reference.py on the same shapes and print tfjs/PyTorch ratios', false)
    .option('--torch-threads <list>', 'torch.set_num_threads values to run the reference with; ratios use the fastest', '1,2')
    .option('--cpu-shapes <list>', "shapes measured on the cpu backend (its training step is ~10x slower than wasm's), or 'all'", 'att-cpu')
    .option('--in-process', 'measure every backend and shape in this process (default: one child process each, so peak RSS is per shape)', false)
    .option('--no-data', 'skip preprocessing, cache load and pair-evaluation timings')
    .option('--no-profile', 'skip the wasm training-step kernel profile')
    .option('--no-conv', 'skip the single-convolution rates (the ceiling of each backend)')
    .option('--wasm-threads <list>', `thread counts to measure wasm with, e.g. 1,2 (default: FACENET_WASM_THREADS, else every core up to ${MAX_WASM_THREADS})`)
    .addOption(new Option('--out <file>', 'where to write the JSON (default results/bench-<date>.json)'));
  program.parse();
  const o = program.opts<Options>();

  const started = performance.now();
  const loadAverageStart = os.loadavg().map((v) => round(v, 2));
  const batch: number | 'config' = o.batch === 'config' ? 'config' : positiveInt('batch')(o.batch);
  if (batch === 0) throw new Error('--batch must be at least 2 (the triplet loss needs pairs)');
  const shapes = list(o.shapes, SHAPE_IDS, 'shapes').map((id) => resolveShape(id as ShapeId, PROJECT_ROOT, batch));
  const { available, missing } = await availableBackends();
  const wanted = o.backends ? (list(o.backends, ALL_BACKENDS, 'backends') as ConcreteBackend[]) : available;
  const backends = wanted.filter((b) => available.includes(b));
  const cpuShapes = o.cpuShapes === 'all' ? [...SHAPE_IDS] : list(o.cpuShapes, SHAPE_IDS, 'cpu-shapes');
  const wasmVariants = wasmThreadVariants(o.wasmThreads);
  if (o.inProcess && wasmVariants.length > 1) throw new Error('--wasm-threads with several counts needs one process per measurement: drop --in-process');
  // Each measurement: a backend, and for wasm one of the thread counts.
  type Run = { backend: ConcreteBackend; wasmThreads?: number };
  const runs = backends.flatMap((backend): Run[] =>
    backend === 'wasm' ? wasmVariants.map((wasmThreads) => ({ backend, wasmThreads })) : [{ backend }]);
  for (const b of wanted.filter((x) => !available.includes(x))) console.warn(`backend ${b} is not installed: ${missing.find((m) => m.backend === b)?.why}`);
  for (const m of missing.filter((x) => !wanted.includes(x.backend))) console.log(`backend ${m.backend}: not installed, skipped`);

  const rss = new RssSampler().start();
  const measurements: Measurement[] = [];
  const problems: string[] = [];
  const stepOpts = { warmup: o.warmup, steps: Math.max(1, o.steps), capSeconds: o.cap };
  // Shape by shape, every backend and then PyTorch: the figures a ratio divides are taken minutes
  // apart, not a whole run apart, so a neighbour's load burst shifts both more alike.
  const torch: TorchSection | null = o.compareTorch
    ? startTorch(o.torchThreads.split(',').map((v) => positiveInt('torch-threads')(v.trim())))
    : null;
  for (const shape of shapes) {
    for (const { backend, wasmThreads } of runs) {
      if (o.inProcess) await initBackend(backend);
      const label = backendLabel(backend, wasmThreads);
      const m: Measurement = { backend, shape: shape.id, shapeLabel: describeShape(shape), result: null };
      if (wasmThreads !== undefined) m.wasmThreads = wasmThreads;
      if (backend === 'cpu' && !cpuShapes.includes(shape.id)) {
        m.error = 'skipped (--cpu-shapes)';
        measurements.push(m);
        continue;
      }
      console.log(`${label} ${m.shapeLabel}: measuring...`);
      try {
        if (o.inProcess) {
          m.result = benchShape(shape, stepOpts, rss);
        } else {
          // Generous: the cap bounds the timed steps, not the warm-up or the model build.
          const child = runChild(childArgs(backend, shape.id, batch, stepOpts), 30 * 60_000, wasmThreads);
          m.result = child.result ?? null;
          if (!m.result) throw new Error('the child process printed no result');
          m.processPeakRssMiB = child.processPeakRssMiB;
          m.baselineRssMiB = child.baselineRssMiB;
        }
        const r = m.result;
        console.log(`${label} ${m.shapeLabel}: train ${r.train.imagesPerS} images/s (median of ${r.train.stepsTimed}), embed ${r.embed.imagesPerS} images/s, peak RSS ${m.processPeakRssMiB ?? r.peakRssMiB} MiB`);
        for (const [what, c] of Object.entries(r.liveTensors)) {
          if (c.growthAfterWarmup !== 0) problems.push(`${label} ${shape.id} ${what}: live tensors grew by ${c.growthAfterWarmup} over the timed steps (${c.perStep.join(', ')})`);
          if (c.afterDispose !== c.before) problems.push(`${label} ${shape.id} ${what}: ${c.afterDispose - c.before} tensors left after disposing the model`);
        }
      } catch (err) {
        m.error = (err as Error).message.split('\n')[0];
        problems.push(`${label} ${shape.id}: ${m.error}`);
        console.warn(`${label} ${shape.id} failed: ${m.error}`);
      }
      measurements.push(m);
    }
    if (torch?.available) torchForShape(torch, shape, o.steps);
  }

  let profile: BenchReport['profile'] = null;
  if (o.profile && backends.includes('wasm')) {
    const shape = shapes.find((s) => s.id === 'att-cpu') ?? resolveShape('att-cpu', PROJECT_ROOT, batch);
    try {
      if (o.inProcess) {
        await initBackend('wasm');
        profile = await profileStep(shape);
      } else {
        const threads = Math.max(...wasmVariants);
        profile = runChild([...childArgs('wasm', shape.id, batch, stepOpts), '--profile'], 10 * 60_000, threads).profile ?? null;
        if (profile) profile.backend = backendLabel('wasm', threads);
      }
    } catch (err) {
      problems.push(`wasm profile: ${(err as Error).message}`);
    }
  }

  let convCeiling: BenchReport['convCeiling'] = null;
  if (o.conv) {
    convCeiling = { tfjs: [], torch: [] };
    for (const { backend, wasmThreads } of runs) {
      const label = backendLabel(backend, wasmThreads);
      try {
        convCeiling.tfjs.push({ backend: label, rates: runChild(['--backend', backend, '--shape', 'att-cpu', '--batch', '16', '--conv'], 10 * 60_000, wasmThreads).convRates ?? [] });
      } catch (err) {
        convCeiling.tfjs.push({ backend: label, error: (err as Error).message });
      }
    }
    for (const threads of torch?.available ? torch.threads : []) {
      try {
        convCeiling.torch.push({ threads, rates: measureTorchConvRates(threads) });
      } catch (err) {
        convCeiling.torch.push({ threads, error: (err as Error).message });
      }
    }
  }

  if (torch) {
    for (const m of measurements) {
      const t = torch.results.find((x) => x.shape === m.shape);
      if (!m.result || !t) continue;
      m.ratio = {
        train: t.train ? round(m.result.train.imagesPerS / t.train.images_per_s, 4) : null,
        embed: t.embed ? round(m.result.embed.imagesPerS / t.embed.images_per_s, 4) : null,
      };
    }
  }

  let data: BenchReport['data'] = null;
  if (o.data) {
    data = { preprocess: [], cache: [], cacheLoadPerEpoch: [], pairEval: null, errors: [] };
    for (const name of ['att-cpu', 'lfw-cpu'] as const) {
      try {
        data.preprocess.push(await benchPreprocess(PROJECT_ROOT, name, name === 'att-cpu' ? 400 : 500));
        const { result, dataset, config } = await benchCache(PROJECT_ROOT, name, 3);
        data.cache.push(result);
        for (const m of measurements.filter((x) => x.shape === name && x.result)) {
          const epochS = result.trainImages / (m.result as NonNullable<Measurement['result']>).train.imagesPerS;
          data.cacheLoadPerEpoch.push({ dataset: name, backend: backendLabel(m.backend, m.wasmThreads), loadS: result.loadS, epochS: round(epochS, 1), share: round(result.loadS / epochS, 5) });
        }
        if (name === 'lfw-cpu') {
          data.pairEval = await benchPairEval(dataset, config, 5);
          if (!data.pairEval.underOneSecond) problems.push(`LFW pair evaluation took ${data.pairEval.medianS} s (flip TTA ${data.pairEval.flipTtaMedianS} s): must be < 1 s`);
        }
      } catch (err) {
        const msg = `${name}: ${(err as Error).message}`;
        data.errors.push(msg);
        console.warn(`data benchmark ${msg}`);
      }
    }
  }
  rss.stop();

  const cpus = os.cpus();
  const report: BenchReport = {
    date: new Date().toISOString(),
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
    machine: {
      cpus: cpus.length,
      cpuModel: cpus[0]?.model ?? 'unknown',
      totalMemGiB: round(os.totalmem() / 1024 ** 3, 1),
      node: process.version,
      tfjs: tf.version_core,
      platform: `${os.platform()} ${os.release()}`,
      loadAverageStart,
      loadAverageEnd: os.loadavg().map((v) => round(v, 2)),
      wasmThreads: backends.includes('wasm') ? wasmVariants : null,
    },
    settings: { ...stepOpts, batch, cpuShapes, isolated: !o.inProcess },
    backends: { measured: backends, missing },
    shapes,
    measurements,
    torch,
    data,
    profile,
    convCeiling,
    peakRssMiB: processPeakRssMiB(),
    totalSeconds: round((performance.now() - started) / 1000, 1),
    problems,
  };
  const out = path.resolve(PROJECT_ROOT, o.out ?? path.join('results', `bench-${today()}.json`));
  writeJsonAtomic(out, report);
  console.log('');
  printReport(report);
  console.log(`\nwrote ${path.relative(process.cwd(), out)} (${report.totalSeconds} s)`);
  if (problems.length) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error((err as Error).stack ?? String(err));
  process.exit(1);
});
