export { tripletLoss, MINERS, type MinerName, type TripletLossOptions, type TripletLossResult } from './triplet-loss';
export { pairwiseDistances, pairwiseSquaredDistances, DISTANCE_METRICS, type DistanceMetric } from './distances';
export { batchAllTripletLoss } from './batch-all';
export { batchHardTripletLoss } from './batch-hard';
export { semiHardTripletLoss } from './semi-hard';
export { positivePairMask, negativePairMask, tripletMask, maskedMean } from './masks';
export type { Miner, MinedLoss } from './types';
export { supervisedContrastiveLoss } from './supervised-contrastive';
export { trainingLoss, type TrainingLossOptions } from './training-loss';
