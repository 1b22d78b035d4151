// The best evaluation so far, kept beside the checkpoints as best.json. Evaluation may run in
// another process (another activity) than training, after the checkpoint it scored was written;
// the file is how the trainer learns which checkpoint pruning must keep.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../util/durable-fs';

export const BEST_FILE = 'best.json';

export interface BestRecord {
  metric: string;
  value: number;
  /** Checkpoint directory name, e.g. epoch-0010. */
  checkpoint: string;
  /** The decision threshold found with this evaluation (goes into the export sidecar). */
  threshold: number | null;
}

export async function readBest(checkpointsDir: string): Promise<BestRecord | null> {
  let text: string;
  try {
    text = await fs.readFile(path.join(checkpointsDir, BEST_FILE), 'utf8');
  } catch {
    return null;
  }
  try {
    return JSON.parse(text) as BestRecord;
  } catch {
    return null; // a torn write cannot happen (rename), but a hand-edited file should not stop training
  }
}

/**
 * Records an evaluation of `checkpoint`; returns true (and writes best.json atomically) when it beats
 * the recorded best. A different metric name than the recorded one replaces it.
 */
export async function recordBest(
  checkpointsDir: string,
  r: { metric: string; value: number; checkpoint: string; threshold?: number | null; higherIsBetter?: boolean },
): Promise<BestRecord | null> {
  const cur = await readBest(checkpointsDir);
  const higher = r.higherIsBetter ?? true;
  const better = !cur || cur.metric !== r.metric || (higher ? r.value > cur.value : r.value < cur.value);
  if (!better) return null;
  const best: BestRecord = { metric: r.metric, value: r.value, checkpoint: r.checkpoint, threshold: r.threshold ?? null };
  await writeFileAtomic(path.join(checkpointsDir, BEST_FILE), JSON.stringify(best, null, 2));
  return best;
}
