// The PyTorch yardstick: ../shared/bench/torch_reference.py run on the same shape in the same
// benchmark run, so the tfjs/PyTorch ratio compares two measurements taken minutes apart on the
// same (noisy, shared) machine rather than figures from different days.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { BenchShape } from './shapes';

/**
 * Debian's python3-torch installs into the system interpreter, not into a venv that may shadow it on
 * PATH. BENCH_PYTHON picks another interpreter (e.g. a venv with a pip wheel of torch).
 */
export const PYTHON = process.env['BENCH_PYTHON'] ?? '/usr/bin/python3';
export const TORCH_INSTALL_HINT =
  'install PyTorch (Debian CPU build) with `sudo apt-get update && sudo apt-get install -y python3-torch`; it is run with /usr/bin/python3 (or $BENCH_PYTHON)';

export interface TorchProbe {
  ok: boolean;
  version?: string;
  why?: string;
}

/** Can /usr/bin/python3 import torch? */
export function probeTorch(): TorchProbe {
  if (!existsSync(PYTHON)) return { ok: false, why: `${PYTHON} not found` };
  const r = spawnSync(PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) return { ok: false, why: (r.stderr || r.error?.message || 'import torch failed').trim().split('\n').pop() };
  return { ok: true, version: r.stdout.trim() };
}

export interface TorchResult {
  impl: string;
  mode: 'train' | 'embed';
  images_per_s: number;
  median_step_s: number;
  params: number;
  peak_rss_mib: number;
  [key: string]: unknown;
}

export function torchScript(projectRoot: string): string {
  return path.resolve(projectRoot, '..', 'shared', 'bench', 'torch_reference.py');
}

/** torch_reference.py's arguments for a shape: same input, widths, blocks, embedding, batch and K. */
export function torchArgs(shape: BenchShape, mode: 'train' | 'embed', steps: number, threads: number): string[] {
  const [h, w, c] = shape.inputShape;
  return [
    '--height', String(h), '--width', String(w), '--channels', String(c),
    '--widths', shape.widths.join(','), '--blocks', '2,2,2,2', '--embedding', String(shape.embeddingDim),
    '--batch', String(shape.batch), '--images-per-identity', String(shape.imagesPerIdentity),
    '--mode', mode, '--steps', String(steps), '--threads', String(threads),
  ];
}

/** Runs the reference once; throws with its stderr when it fails or prints no JSON. */
export function runTorch(script: string, args: string[], timeoutMs: number): TorchResult {
  const r = spawnSync(PYTHON, [script, ...args], { encoding: 'utf8', timeout: timeoutMs });
  if (r.error) throw new Error(`${script} failed to run: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${script} exited with ${r.status}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  const last = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(last) as TorchResult;
  } catch {
    throw new Error(`${script} printed no JSON line at the end (got: ${last.slice(0, 200)})`);
  }
}
