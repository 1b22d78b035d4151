export { buildEmbeddingModel, residualBlock } from './resnet';
export { FusedBatchNormalization } from './batch-norm';
export { GradientSparingConv2D } from './conv';
export { withBatchedMovingAverages } from './moving-averages';
export { countTrainableParams } from './params';
export { embedTraining, embedInference } from './embed';
export { foldedEmbedder, type InferenceEmbedder } from './folded-inference';
export { L2Normalize, l2Normalize } from './l2-normalize';
export { ZeroPadChannels } from './zero-pad-channels';
export {
  buildFaceApiResNet34,
  loadFaceApiWeights,
  faceApiWeightsDir,
  DESCRIPTOR_LAYER,
  FACE_API_INPUT_SHAPE,
  FACE_API_NORMALIZATION,
} from './face-api-resnet34';
export { hashName, layerSeed } from './init';
export {
  type Architecture,
  type Stem,
  type StageWidths,
  type ModelInit,
  type FaceApiStage,
  FACE_API_STAGES,
  type EmbeddingModelOptions,
  ARCHITECTURES,
  STEMS,
  validateEmbeddingModelOptions,
} from './options';
