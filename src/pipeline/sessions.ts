// One training session per run is kept alive in the worker between epoch activities, so an epoch does not
// rebuild the model and reload its checkpoint; a session that does not match the latest checkpoint
// (another worker trained meanwhile, or this one crashed) is replaced by one restored from disk.
import { initBackend, type BackendChoice } from '../backend';
import type { BackendName, RunConfig } from '../config/schema';
import { checkpointName, createTrainingSession, listCheckpoints, parseCheckpointName, type TrainingSession } from '../train';
import { readRunConfig, runPaths } from '../run/run-dir';

const sessions = new Map<string, { session: TrainingSession; cachePath: string }>();
let activeBackend: { requested: string; choice: BackendChoice } | null = null;

export async function ensureBackend(config: RunConfig, env: NodeJS.ProcessEnv = process.env): Promise<BackendChoice> {
  // A worker machine may force its backend (e.g. a GPU worker) whatever the run config says.
  return activateBackend((env['FACENET_BACKEND'] as BackendName | undefined) ?? config.backend);
}

/**
 * Loads the backend this worker will most likely train on (FACENET_BACKEND, else auto: what the shipped
 * configs ask for) before it takes any activity. Loading TensorFlow takes most of a second, once a
 * process; left to the first training activity it would count in the first run's epoch time. A run that
 * asks for another backend still gets it (ensureBackend switches). A backend that cannot load is
 * reported here and again, with what to do, by the activity that needs it: null then.
 */
export async function preloadBackend(env: NodeJS.ProcessEnv = process.env): Promise<BackendChoice | null> {
  const requested = (env['FACENET_BACKEND'] as BackendName | undefined) ?? 'auto';
  try {
    return await activateBackend(requested);
  } catch (err) {
    console.warn(`Could not load the ${requested} backend at worker start: ${(err as Error).message}`);
    return null;
  }
}

async function activateBackend(requested: BackendName): Promise<BackendChoice> {
  if (activeBackend?.requested === requested) return activeBackend.choice;
  for (const { session } of sessions.values()) session.dispose();
  sessions.clear();
  const choice = await initBackend(requested);
  const threads = choice.wasmThreads === undefined ? '' : ` with ${choice.wasmThreads} thread${choice.wasmThreads === 1 ? '' : 's'}`;
  console.log(`backend: ${choice.backend}${threads} (${choice.reason})`);
  activeBackend = { requested, choice };
  return choice;
}

/** Name of the newest checkpoint on disk (by name; validity is checked when a session loads it). */
async function newestCheckpoint(runDir: string): Promise<string | null> {
  const newestFirst = await listCheckpoints(runPaths(runDir).checkpoints);
  return newestFirst[0] ?? null;
}

export async function openSession(runDir: string, cachePath: string): Promise<{ session: TrainingSession; config: RunConfig; backend: BackendChoice }> {
  const config = readRunConfig(runDir);
  const backend = await ensureBackend(config);
  const cached = sessions.get(runDir);
  if (cached && cached.cachePath === cachePath) {
    const newest = await newestCheckpoint(runDir);
    const { epoch, step } = cached.session.state;
    const mine = epoch === 0 && step === 0 ? null : checkpointName(epoch, step);
    if (newest === mine) return { session: cached.session, config, backend };
    // This session's own checkpoint is still being written: the disk may still show an older one.
    if (mine !== null && cached.session.pendingCheckpoint === mine && !isAfter(newest, mine)) return { session: cached.session, config, backend };
  }
  closeSession(runDir);
  const session = await createTrainingSession({ config, runDir, cachePath });
  for (const warning of session.warnings) console.warn(`[${runDir}] ${warning}`);
  sessions.set(runDir, { session, cachePath });
  return { session, config, backend };
}

/** True when checkpoint name `a` is a later position than `b` (null = no checkpoint). */
function isAfter(a: string | null, b: string): boolean {
  const pa = a === null ? null : parseCheckpointName(a);
  const pb = parseCheckpointName(b);
  if (!pa || !pb) return false;
  return pa.epoch > pb.epoch || (pa.epoch === pb.epoch && pa.step > pb.step);
}

export function closeSession(runDir: string): void {
  sessions.get(runDir)?.session.dispose();
  sessions.delete(runDir);
}
