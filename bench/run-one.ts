// One measurement in its own process: `bench.ts` runs every (backend, shape) here so that its peak
// RSS and wasm heap are its own (a process keeps the memory of earlier measurements: allocators and
// the wasm heap never shrink) and a crash or out-of-memory in one shape cannot end the whole run.
// Prints one line `BENCH_RESULT <json>` last.
import { Command } from 'commander';
import path from 'node:path';
import { initBackend, type ConcreteBackend } from '../src/backend';
import { processPeakRssMiB, RESULT_MARKER, RssSampler } from './measure';
import { resolveShape, SHAPE_IDS, type ShapeId } from './shapes';
import { benchShape, profileStep } from './tfjs-bench';
import { measureConvRates } from './conv-ceiling';

const PROJECT_ROOT = path.resolve(__dirname, '..');

async function main(): Promise<void> {
  const o = new Command()
    .requiredOption('--backend <name>')
    .requiredOption('--shape <id>')
    .requiredOption('--batch <n|config>')
    .option('--warmup <n>', '', '1')
    .option('--steps <n>', '', '3')
    .option('--cap <seconds>', '', '30')
    .option('--profile', 'profile one training step instead of timing', false)
    .option('--conv', 'time single 3x3 convolutions (bench/conv-ceiling.ts) instead', false)
    .parse()
    .opts<{ backend: string; shape: string; batch: string; warmup: string; steps: string; cap: string; profile: boolean; conv: boolean }>();
  if (!SHAPE_IDS.includes(o.shape as ShapeId)) throw new Error(`--shape: unknown ${o.shape}; choose from ${SHAPE_IDS.join(', ')}`);
  await initBackend(o.backend as ConcreteBackend);
  // The process with the backend loaded and no model yet: what the shape adds is above this.
  const baselineRssMiB = Math.round(process.memoryUsage().rss / 1048576);
  const shape = resolveShape(o.shape as ShapeId, PROJECT_ROOT, o.batch === 'config' ? 'config' : Number(o.batch));
  if (o.conv) {
    console.log(RESULT_MARKER + JSON.stringify({ convRates: measureConvRates() }));
    return;
  }
  if (o.profile) {
    const profile = await profileStep(shape);
    console.log(RESULT_MARKER + JSON.stringify({ profile }));
    return;
  }
  const rss = new RssSampler().start();
  const result = benchShape(shape, { warmup: Number(o.warmup), steps: Number(o.steps), capSeconds: Number(o.cap) }, rss);
  rss.stop();
  console.log(RESULT_MARKER + JSON.stringify({ result, processPeakRssMiB: processPeakRssMiB(), baselineRssMiB }));
}

main().catch((err: unknown) => {
  console.error((err as Error).stack ?? String(err));
  process.exit(1);
});
