export { buildEmbeddingModel, residualBlock } from './resnet';
export { FusedBatchNormalization } from './batch-norm';
export { GradientSparingConv2D } from './conv';
export { withBatchedMovingAverages } from './moving-averages';
export { countTrainableParams } from './params';
export { embedTraining, embedInference } from './embed';
export { foldedEmbedder, type InferenceEmbedder } from './folded-inference';
export { L2Normalize, l2Normalize } from './l2-normalize';
export { hashName, layerSeed } from './init';
export {
  type Architecture,
  type Stem,
  type StageWidths,
  type EmbeddingModelOptions,
  ARCHITECTURES,
  STEMS,
  validateEmbeddingModelOptions,
} from './options';
