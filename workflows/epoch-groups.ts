// How many epochs one training activity runs. Each activity costs a Temporal round trip (~0.06 s here), which
// is 3% of a 2-second att-cpu epoch on the native backend; epochs shorter than a target are therefore grouped so
// that one activity trains for about TARGET_ACTIVITY_SECONDS. Each epoch still ends with its own
// checkpoint, so a crash loses at most the epoch in progress. Pure and deterministic: it runs in the workflow.

/** Long enough that orchestration is well under 1% of it, short enough that a stop signal (which takes effect
 * between activities) and the workflow's progress query lag by at most this much. */
export const TARGET_ACTIVITY_SECONDS = 30;

export interface EpochGroupBounds {
  /** First epoch of the group. */
  epoch: number;
  totalEpochs: number;
  evalEvery: number;
  /** The epoch after which the run stops (stop signal), if one was asked for. */
  stopAfterEpoch: number | null;
  /** The last epoch this workflow execution trains before it continues as new. */
  historyLimitEpoch: number;
  /** Training seconds of the epochs trained so far, oldest first (the first includes warm-up). */
  epochSeconds: readonly number[];
}

/** Typical epoch length from the recent epochs, skipping the first one (warm-up) when there are others; null before any. */
export function typicalEpochSeconds(epochSeconds: readonly number[]): number | null {
  if (epochSeconds.length === 0) return null;
  const recent = (epochSeconds.length > 1 ? epochSeconds.slice(1) : epochSeconds).slice(-5);
  return recent.reduce((a, b) => a + b, 0) / recent.length;
}

/**
 * The last epoch of the activity that starts at `b.epoch`: as many epochs as fill TARGET_ACTIVITY_SECONDS at
 * the typical epoch length (one while none is known), never past an evaluation, the stop epoch, the end, or
 * the history limit, so that those still happen right after the epoch they follow.
 */
export function lastEpochOfGroup(b: EpochGroupBounds): number {
  const typical = typicalEpochSeconds(b.epochSeconds);
  const wanted = typical === null || typical <= 0 ? 1 : Math.max(1, Math.floor(TARGET_ACTIVITY_SECONDS / typical));
  const nextEvaluation = Math.ceil(b.epoch / b.evalEvery) * b.evalEvery;
  const stop = b.stopAfterEpoch !== null && b.stopAfterEpoch >= b.epoch ? b.stopAfterEpoch : Infinity;
  return Math.max(b.epoch, Math.min(b.epoch + wanted - 1, nextEvaluation, stop, b.totalEpochs, b.historyLimitEpoch));
}
