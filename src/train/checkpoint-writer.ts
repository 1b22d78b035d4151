// Writes a checkpoint on a worker thread. The training steps of tfjs-node run synchronously on the main
// thread and hold its event loop between their setImmediate yields, so a background write there (a chain
// of awaited opens, writes and fsyncs of tens of MB) would hardly progress until the epoch ends. On its own
// thread it proceeds while the next epoch trains. If the thread cannot run (no TypeScript loader in this
// process, say), the jobs it had fail and later writes fall back to the main thread.
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { writeCheckpointAndPrune, type CheckpointContents } from './checkpoint';

export interface WriteJob {
  id: number;
  checkpointsDir: string;
  contents: CheckpointContents;
  keepLast: number;
  protect: string[];
}

export type WriteReply = { id: number; path: string } | { id: number; error: string };

type Pending = { resolve: (p: string) => void; reject: (e: Error) => void };

let thread: Worker | null = null;
let threadUnusable = false;
let nextId = 1;
const pending = new Map<number, Pending>();

/** Writes the checkpoint and prunes old ones; the arrays in `contents` are moved to the thread (unusable afterwards). */
export function writeCheckpointOffThread(checkpointsDir: string, contents: CheckpointContents, keepLast: number, protect: Iterable<string>): Promise<string> {
  const job: WriteJob = { id: nextId++, checkpointsDir, contents, keepLast, protect: [...protect] };
  const worker = threadUnusable ? null : ensureThread();
  if (!worker) return writeCheckpointAndPrune(checkpointsDir, contents, keepLast, job.protect);
  return new Promise<string>((resolve, reject) => {
    pending.set(job.id, { resolve, reject });
    // Keep the process alive while a write is under way (a worker shutting down lets it finish).
    worker.ref();
    // Each buffer once: the optimiser slots of all parameters are views of one buffer per slot.
    const buffers = new Set([...contents.weights.map((w) => w.values.buffer), ...contents.optimizer.slots.map((s) => s.values.buffer)]);
    worker.postMessage(job, [...buffers] as ArrayBuffer[]);
  });
}

function ensureThread(): Worker | null {
  if (thread) return thread;
  try {
    const ext = path.extname(__filename);
    const file = path.join(__dirname, `checkpoint-thread${ext}`);
    // Run from TypeScript sources (tsx), the thread needs tsx's require hook of its own.
    const worker =
      ext === '.ts'
        ? new Worker(`require(${JSON.stringify(require.resolve('tsx/cjs/api'))}).register(); require(${JSON.stringify(file)});`, { eval: true })
        : new Worker(file);
    worker.on('message', (reply: WriteReply) => {
      const p = pending.get(reply.id);
      if (!p) return;
      pending.delete(reply.id);
      if (pending.size === 0) worker.unref();
      if ('error' in reply) p.reject(new Error(reply.error));
      else p.resolve(reply.path);
    });
    worker.on('error', (err) => abandonThread(worker, err.message));
    worker.on('exit', (code) => abandonThread(worker, `exit code ${code}`));
    worker.unref();
    thread = worker;
    return worker;
  } catch {
    threadUnusable = true;
    return null;
  }
}

/**
 * The thread failed or exited. Its unfinished jobs' arrays went with it: they fail (the session then
 * retrains that epoch from the checkpoint before); later writes are made on the main thread.
 */
function abandonThread(worker: Worker, reason: string): void {
  if (thread !== worker) return;
  thread = null;
  threadUnusable = true;
  const jobs = [...pending.values()];
  pending.clear();
  for (const p of jobs) p.reject(new Error(`the checkpoint writer thread stopped (${reason})`));
}
