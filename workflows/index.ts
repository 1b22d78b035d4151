// Every workflow the pipeline registers. The worker bundles this file.
export { trainFaceNet, progressQuery, stopAfterEpochSignal } from './train';
export { retrainFaceNet } from './retrain';
export { sweepFaceNet, sweepTrialsQuery } from './sweep';
