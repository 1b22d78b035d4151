// What a worker keeps between activities, injected into the activities (activities/index.ts):
// - WorkerBackend: the tfjs backend, loaded once a process (FACENET_BACKEND forces one on a worker);
// - Sessions: one training session per run, so that a training activity does not rebuild the model and
//   reload its checkpoint; a session that does not match the newest checkpoint on disk (another worker
//   trained meanwhile, or an attempt failed) is replaced by one restored from disk. It also keeps the
//   last loaded dataset cache, which evaluation and export read as well.
import { initBackend, type BackendChoice } from '../backend';
import type { BackendName, RunConfig } from '../config/schema';
import type { FacenetEnv } from '../config/env';
import { loadCachedDataset, type CachedDataset } from '../data';
import { checkpointName, createTrainingSession, listCheckpoints, type TrainingSession } from '../train';
import { readRunConfig, runPaths } from '../run/run-dir';

export class WorkerBackend {
  private active: { requested: BackendName; choice: BackendChoice } | null = null;
  private readonly switchListeners: Array<() => void> = [];

  constructor(private readonly env: Pick<FacenetEnv, 'FACENET_BACKEND'>) {}

  /** The backend a run trains on: the worker's FACENET_BACKEND if set, else the run config's. */
  ensure(config: Pick<RunConfig, 'backend'>): Promise<BackendChoice> {
    return this.activate(this.env.FACENET_BACKEND ?? config.backend);
  }

  /**
   * Loads the backend this worker will most likely train on (FACENET_BACKEND, else auto: what the shipped
   * configs ask for) before it takes any activity: loading TensorFlow takes most of a second, once a
   * process. A backend that cannot load is reported here and again, with what to do, by the activity that
   * needs it: null then.
   */
  async preload(): Promise<BackendChoice | null> {
    const requested = this.env.FACENET_BACKEND ?? 'auto';
    try {
      return await this.activate(requested);
    } catch (err) {
      console.warn(`Could not load the ${requested} backend at worker start: ${(err as Error).message}`);
      return null;
    }
  }

  /** Called before another backend replaces the active one (tensors of the old one become unusable). */
  onSwitch(listener: () => void): void {
    this.switchListeners.push(listener);
  }

  private async activate(requested: BackendName): Promise<BackendChoice> {
    if (this.active?.requested === requested) return this.active.choice;
    for (const listener of this.switchListeners) listener();
    const choice = await initBackend(requested);
    const threads = choice.wasmThreads === undefined ? '' : ` with ${choice.wasmThreads} thread${choice.wasmThreads === 1 ? '' : 's'}`;
    console.log(`backend: ${choice.backend}${threads} on ${choice.device} (${choice.reason})`);
    this.active = { requested, choice };
    return choice;
  }
}

export interface OpenedSession {
  session: TrainingSession;
  config: RunConfig;
  backend: BackendChoice;
}

export class Sessions {
  private readonly open = new Map<string, { session: TrainingSession; cachePath: string }>();
  private cachedDataset: { cachePath: string; dataset: Promise<CachedDataset> } | null = null;

  constructor(readonly backend: WorkerBackend) {
    backend.onSwitch(() => this.closeAll());
  }

  /** The run's session, at the newest checkpoint on disk. */
  async openSession(runDir: string, cachePath: string): Promise<OpenedSession> {
    const config = readRunConfig(runDir);
    const backend = await this.backend.ensure(config);
    const cached = this.open.get(runDir);
    if (cached && cached.cachePath === cachePath) {
      const newest = (await listCheckpoints(runPaths(runDir).checkpoints))[0] ?? null;
      const { epoch, step } = cached.session.state;
      const mine = epoch === 0 && step === 0 ? null : checkpointName(epoch, step);
      if (newest === mine) return { session: cached.session, config, backend };
    }
    this.close(runDir);
    const session = await createTrainingSession({ config, runDir, dataset: await this.dataset(cachePath) });
    for (const warning of session.warnings) console.warn(`[${runDir}] ${warning}`);
    this.open.set(runDir, { session, cachePath });
    return { session, config, backend };
  }

  /** The dataset cache at `cachePath`, loaded once while it is the one in use. */
  dataset(cachePath: string): Promise<CachedDataset> {
    if (this.cachedDataset?.cachePath !== cachePath) {
      const dataset = loadCachedDataset(cachePath);
      // A failed load is not kept: the next call tries again.
      dataset.catch(() => {
        if (this.cachedDataset?.dataset === dataset) this.cachedDataset = null;
      });
      this.cachedDataset = { cachePath, dataset };
    }
    return this.cachedDataset.dataset;
  }

  close(runDir: string): void {
    this.open.get(runDir)?.session.dispose();
    this.open.delete(runDir);
  }

  closeAll(): void {
    for (const runDir of [...this.open.keys()]) this.close(runDir);
  }
}
