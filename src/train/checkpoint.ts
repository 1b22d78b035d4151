// Checkpoints: complete (weights + optimiser slots + training state), atomic (temp dir + rename),
// and verifiable (manifest.json with the size and SHA-256 of every file, written last).
// Layout: <checkpointsDir>/epoch-0003[-step-000120]/{weights.json,weights.bin,optimizer.json,
// optimizer.bin,state.json,manifest.json}, average.{json,bin} when the run averages its weights, and
// loss.{json,bin} when its loss has weights of its own (the CosFace class matrix). The name is the POSITION to continue from: epoch-0003 =
// three epochs done; epoch-0003-step-000120 = three epochs done and 120 steps of the fourth.
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import type { OptimizerName } from './optimizers';
import type { CheckpointContents, TrainingState } from './state';
import type { WeightAverage } from './weight-average';
import { decodeArrays, encodeArrays, readArrays, type NamedArray, type TensorFileSpec } from './tensor-file';
import { createHash } from 'node:crypto';
import { removeStaleTemps, sha256File, writeDirAtomic, writeFileDurable } from '../util/durable-fs';

export const MANIFEST_FILE = 'manifest.json';
const AVERAGE_JSON = 'average.json';
const AVERAGE_BIN = 'average.bin';
const LOSS_JSON = 'loss.json';
const LOSS_BIN = 'loss.bin';
const NAME_RE = /^epoch-(\d{4,})(?:-step-(\d{6,}))?$/;

export interface LoadedCheckpoint extends CheckpointContents {
  name: string;
  path: string;
}

interface ManifestEntry {
  file: string;
  bytes: number;
  sha256: string;
}

export interface Manifest {
  format: 'facenet-checkpoint/1';
  name: string;
  files: ManifestEntry[];
}

export function checkpointName(epoch: number, step = 0): string {
  const e = `epoch-${String(epoch).padStart(4, '0')}`;
  return step > 0 ? `${e}-step-${String(step).padStart(6, '0')}` : e;
}

export function parseCheckpointName(name: string): { epoch: number; step: number } | null {
  const m = NAME_RE.exec(name);
  return m ? { epoch: Number(m[1]), step: m[2] === undefined ? 0 : Number(m[2]) } : null;
}

/** Writes a checkpoint atomically and returns its final path. The manifest is the last file written. */
export async function writeCheckpoint(checkpointsDir: string, contents: CheckpointContents): Promise<string> {
  const name = checkpointName(contents.state.epoch, contents.state.step);
  return writeDirAtomic(checkpointsDir, name, async (tmp) => {
    const w = encodeArrays(contents.weights, 'weights.bin');
    const slots: NamedArray[] = contents.optimizer.slots.map((s) => ({ name: s.name, shape: s.shape, dtype: 'float32', values: s.values }));
    const o = encodeArrays(slots, 'optimizer.bin');
    const optimizerSpec = { ...o.spec, optimizer: contents.optimizer.name, step: contents.optimizer.step };
    const bodies: Array<[string, Buffer]> = [
      ['weights.bin', w.bin],
      ['weights.json', Buffer.from(JSON.stringify(w.spec, null, 1))],
      ['optimizer.bin', o.bin],
      ['optimizer.json', Buffer.from(JSON.stringify(optimizerSpec, null, 1))],
      ['state.json', Buffer.from(JSON.stringify(contents.state, null, 2))],
    ];
    if (contents.average) {
      const a = encodeArrays(contents.average.weights, AVERAGE_BIN);
      bodies.push([AVERAGE_BIN, a.bin], [AVERAGE_JSON, Buffer.from(JSON.stringify({ ...a.spec, epochs: contents.average.epochs }, null, 1))]);
    }
    if (contents.lossWeights?.length) {
      const l = encodeArrays(contents.lossWeights, LOSS_BIN);
      bodies.push([LOSS_BIN, l.bin], [LOSS_JSON, Buffer.from(JSON.stringify(l.spec, null, 1))]);
    }
    // The files are written (and fsynced) concurrently, and hashed from the bytes in memory rather than
    // read back: a checkpoint is written every epoch, and its cost is orchestration overhead.
    await Promise.all(bodies.map(([file, data]) => writeFileDurable(path.join(tmp, file), data)));
    const files: ManifestEntry[] = bodies.map(([file, data]) => ({ file, bytes: data.byteLength, sha256: createHash('sha256').update(data).digest('hex') }));
    const manifest: Manifest = { format: 'facenet-checkpoint/1', name, files };
    await writeFileDurable(path.join(tmp, MANIFEST_FILE), JSON.stringify(manifest, null, 2));
  });
}

/** Checkpoint directory names in `checkpointsDir`, newest position first. Temp dirs are not listed. */
export async function listCheckpoints(checkpointsDir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await fs.readdir(checkpointsDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const parsed = names.flatMap((n) => {
    const p = parseCheckpointName(n);
    return p ? [{ n, ...p }] : [];
  });
  parsed.sort((a, b) => b.epoch - a.epoch || b.step - a.step);
  return parsed.map((p) => p.n);
}

/**
 * Removes the `.tmp-*` folders left by a writer that crashed mid-write (a dead pid on this host, or
 * older than STALE_TEMP_MS), never one another live worker is still writing. Returns the names removed.
 */
export async function cleanTempDirs(checkpointsDir: string): Promise<string[]> {
  return removeStaleTemps(checkpointsDir);
}

/** Checks the manifest against the files: null when sound, else the reason it is not. */
export async function verifyCheckpoint(dir: string): Promise<string | null> {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await fs.readFile(path.join(dir, MANIFEST_FILE), 'utf8')) as Manifest;
  } catch (err) {
    return `${MANIFEST_FILE} is missing or unreadable (${(err as Error).message})`;
  }
  if (manifest.format !== 'facenet-checkpoint/1' || !Array.isArray(manifest.files)) return `${MANIFEST_FILE} has an unknown format`;
  for (const f of manifest.files) {
    const full = path.join(dir, f.file);
    let size: number;
    try {
      size = (await fs.stat(full)).size;
    } catch {
      return `${f.file} is missing`;
    }
    if (size !== f.bytes) return `${f.file} has ${size} bytes, the manifest says ${f.bytes}`;
    const sha = await sha256File(full);
    if (sha !== f.sha256) return `${f.file} has SHA-256 ${sha.slice(0, 12)}..., the manifest says ${f.sha256.slice(0, 12)}...`;
  }
  return null;
}

/** Reads a checkpoint directory (without verifying: call verifyCheckpoint first). */
export async function readCheckpoint(dir: string): Promise<LoadedCheckpoint> {
  const weights = await readArrays(dir, 'weights');
  const optSpec = JSON.parse(await fs.readFile(path.join(dir, 'optimizer.json'), 'utf8')) as TensorFileSpec & {
    optimizer: OptimizerName;
    step: number;
  };
  const slots = decodeArrays(optSpec, await fs.readFile(path.join(dir, optSpec.binFile)), path.join(dir, 'optimizer.json'));
  const state = JSON.parse(await fs.readFile(path.join(dir, 'state.json'), 'utf8')) as TrainingState;
  return {
    average: await readAverage(dir),
    lossWeights: existsSync(path.join(dir, LOSS_JSON)) ? await readArrays(dir, 'loss') : null,
    name: path.basename(dir),
    path: dir,
    weights,
    optimizer: {
      name: optSpec.optimizer,
      step: optSpec.step,
      slots: slots.map((s) => ({ name: s.name, shape: s.shape, values: s.values as Float32Array })),
    },
    state,
  };
}

async function readAverage(dir: string): Promise<WeightAverage | null> {
  const specPath = path.join(dir, AVERAGE_JSON);
  if (!existsSync(specPath)) return null;
  const spec = JSON.parse(await fs.readFile(specPath, 'utf8')) as TensorFileSpec & { epochs: number };
  return { epochs: spec.epochs, weights: decodeArrays(spec, await fs.readFile(path.join(dir, spec.binFile)), specPath) };
}

/**
 * The newest checkpoint that passes verification, or null when there is none. Damaged ones are
 * skipped with a warning naming the checkpoint and why; leftover temp dirs are removed.
 */
export async function loadLatestCheckpoint(checkpointsDir: string): Promise<{ checkpoint: LoadedCheckpoint | null; warnings: string[] }> {
  const warnings: string[] = [];
  for (const t of await cleanTempDirs(checkpointsDir)) warnings.push(`Removed incomplete checkpoint write ${path.join(checkpointsDir, t)}.`);
  for (const name of await listCheckpoints(checkpointsDir)) {
    const dir = path.join(checkpointsDir, name);
    const problem = await verifyCheckpoint(dir);
    if (problem) {
      warnings.push(`Checkpoint ${dir} is damaged and was skipped: ${problem}.`);
      continue;
    }
    try {
      return { checkpoint: await readCheckpoint(dir), warnings };
    } catch (err) {
      warnings.push(`Checkpoint ${dir} could not be read and was skipped: ${(err as Error).message}.`);
    }
  }
  return { checkpoint: null, warnings };
}

/**
 * Deletes all but the newest `keepLast` checkpoints, never touching the names in `protect`
 * (the best one, the one being resumed from). Returns the names deleted.
 */
export async function pruneCheckpoints(checkpointsDir: string, keepLast: number, protect: Iterable<string> = []): Promise<string[]> {
  const keep = new Set(protect);
  const all = await listCheckpoints(checkpointsDir);
  const doomed = all.slice(Math.max(0, keepLast)).filter((n) => !keep.has(n));
  for (const n of doomed) await fs.rm(path.join(checkpointsDir, n), { recursive: true, force: true });
  return doomed;
}

/** Writes the checkpoint, then prunes older ones (keeping `protect`); returns the checkpoint's path. */
export async function writeCheckpointAndPrune(checkpointsDir: string, contents: CheckpointContents, keepLast: number, protect: Iterable<string>): Promise<string> {
  const written = await writeCheckpoint(checkpointsDir, contents);
  await pruneCheckpoints(checkpointsDir, keepLast, protect);
  return written;
}
