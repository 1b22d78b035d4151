// One line naming the training loss of a config (run descriptions and reports).
import type { LossConfig } from './schema';

export function describeLoss(loss: LossConfig): string {
  const triplet = `${loss.miner} margin ${loss.margin}, ${loss.distance}`;
  const contrastive = `supervised contrastive, temperature ${loss.temperature}`;
  if (loss.contrastiveWeight === 0) return loss.tripletWeight === 1 ? triplet : `${loss.tripletWeight} x ${triplet}`;
  if (loss.tripletWeight === 0) return loss.contrastiveWeight === 1 ? contrastive : `${loss.contrastiveWeight} x ${contrastive}`;
  return `${loss.tripletWeight} x ${triplet} + ${loss.contrastiveWeight} x ${contrastive}`;
}
