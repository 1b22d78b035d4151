// Learning-rate schedules as one pure function of the position in training, so a resumed run
// needs only (epoch, step) to continue with exactly the rate it would have used.
import type { ScheduleConfig } from '../config/schema';

/**
 * The learning rate for step `stepInEpoch` (0-based) of epoch `epoch` (0-based).
 * - none: baseLr.
 * - step: baseLr * gamma^floor(epoch / stepEpochs) (per epoch, as PyTorch's StepLR).
 * - cosine: per step, from baseLr at the end of warm-up to minLearningRate at the end of training:
 *   min + (base - min) * (1 + cos(pi * t)) / 2, t = progress after warm-up in [0, 1).
 * - warm-up (any kind): the first warmupEpochs ramp linearly per step from baseLr/warmupSteps to baseLr.
 */
export function learningRateAt(
  schedule: ScheduleConfig,
  baseLr: number,
  epoch: number,
  stepInEpoch: number,
  stepsPerEpoch: number,
  totalEpochs: number,
): number {
  if (!(stepsPerEpoch > 0)) throw new Error(`Expected stepsPerEpoch > 0, but got ${stepsPerEpoch}.`);
  if (!(totalEpochs > 0)) throw new Error(`Expected totalEpochs > 0, but got ${totalEpochs}.`);
  if (epoch < 0 || stepInEpoch < 0) throw new Error(`Expected a non-negative epoch and step, but got epoch ${epoch}, step ${stepInEpoch}.`);
  const globalStep = epoch * stepsPerEpoch + stepInEpoch;
  const warmupSteps = schedule.warmupEpochs * stepsPerEpoch;
  if (globalStep < warmupSteps) return (baseLr * (globalStep + 1)) / warmupSteps;

  switch (schedule.kind) {
    case 'none':
      return baseLr;
    case 'step':
      return baseLr * Math.pow(schedule.gamma, Math.floor(epoch / schedule.stepEpochs));
    case 'cosine': {
      const decaySteps = Math.max(1, totalEpochs * stepsPerEpoch - warmupSteps);
      const t = Math.min(1, (globalStep - warmupSteps) / decaySteps);
      return schedule.minLearningRate + ((baseLr - schedule.minLearningRate) * (1 + Math.cos(Math.PI * t))) / 2;
    }
  }
}
