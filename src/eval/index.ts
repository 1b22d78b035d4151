// Verification metrics (pure functions, no tensors). Convention everywhere: a pair is predicted
// "same" when distance < threshold; thresholds are midpoints between adjacent distinct distances.
export { type Distances, type SameLabels } from './inputs';
export { exactRoc, rocCurve, rocAuc, rocAucOf, eerCurve, pointIndexAt, type ExactRoc, type RocCurve } from './roc';
export {
  equalErrorRate,
  equalErrorRateOf,
  tarAtFar,
  tarAtFarOf,
  selectThreshold,
  selectThresholdOf,
  selectPointOf,
  THRESHOLD_CRITERIA,
  type EqualErrorRate,
  type TarAtFar,
  type ThresholdCriterion,
} from './operating-points';
export { metricsAtThreshold, metricsFromCounts, type ThresholdMetrics } from './confusion';
export { evaluateVerification, type VerificationOptions, type VerificationReport } from './report';
export {
  evaluateKFold,
  stratifiedPairFolds,
  VAL_FAR_TARGET,
  type KFoldOptions,
  type KFoldReport,
  type FoldRow,
  type FoldFarRow,
  type KFoldFarSummary,
} from './kfold';
export { meanStd, type MeanStd } from './stats';
export { distancesForPairs, averageAndRenormalize, PAIR_DISTANCE_KINDS, type PairDistanceKind, type PairIndex } from './distances';
export { distanceHistogram, type DistanceHistogram } from './histogram';
