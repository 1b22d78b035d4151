// Face verification: the distance between two images' embeddings against the model's threshold
// (same person when distance < threshold, the convention of the whole evaluation, src/eval).
import path from 'node:path';
import { distancesForPairs } from '../eval';
import { SIDECAR_JSON } from '../train/export';
import { InputError } from './errors';
import { embedFiles } from './images';
import type { FaceModel } from './model';

/** The decision threshold: `override` when given, else the model's own (from its evaluation). */
export function decisionThreshold(fm: FaceModel, override?: number): number {
  if (override !== undefined) {
    if (!Number.isFinite(override) || override < 0) throw new InputError(`--threshold must be a number >= 0, got ${override}`);
    return override;
  }
  if (fm.sidecar.threshold === null) {
    throw new InputError(
      `${path.join(fm.dir, SIDECAR_JSON)} has no threshold: the exported checkpoint was not evaluated. Pass one with --threshold ` +
        '(e.g. from the run\'s eval/epoch-NNNN.json), or evaluate your own pairs with facenet evaluate.',
      fm.dir,
    );
  }
  return fm.sidecar.threshold;
}

/** Distance (the model's kind) between row i of `a` and row j of `b`, each rows of `dim` values. */
export function distanceOf(fm: FaceModel, a: Float32Array, b: Float32Array): number {
  const both = new Float32Array(a.length + b.length);
  both.set(a);
  both.set(b, a.length);
  return distancesForPairs(both, fm.embeddingDim, [{ a: 0, b: 1 }], fm.sidecar.distance)[0] as number;
}

export interface Verification {
  a: string;
  b: string;
  distance: number;
  distanceKind: FaceModel['sidecar']['distance'];
  threshold: number;
  same: boolean;
  notes: Array<{ file: string; note: string }>;
}

export async function verifyFiles(fm: FaceModel, a: string, b: string, threshold: number): Promise<Verification> {
  const { embeddings, notes } = await embedFiles(fm, [a, b]);
  const dim = fm.embeddingDim;
  const distance = distanceOf(fm, embeddings.subarray(0, dim), embeddings.subarray(dim));
  return { a, b, distance, distanceKind: fm.sidecar.distance, threshold, same: distance < threshold, notes };
}
