// One line naming the training loss of a config (run descriptions and reports).
import type { LossConfig } from './schema';

export function describeLoss(loss: LossConfig): string {
  const terms: Array<[number, string]> = [
    [loss.tripletWeight, `${loss.miner} margin ${loss.margin}, ${loss.distance}`],
    [loss.contrastiveWeight, `supervised contrastive, temperature ${loss.temperature}`],
    [loss.cosFaceWeight, `CosFace margin ${loss.cosFaceMargin}, scale ${loss.cosFaceScale}`],
  ];
  const used = terms.filter(([w]) => w > 0);
  if (used.length === 1) return used[0]![0] === 1 ? used[0]![1] : `${used[0]![0]} x ${used[0]![1]}`;
  return used.map(([w, d]) => `${w} x ${d}`).join(' + ');
}
