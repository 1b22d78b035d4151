// The run-level steps of the pipeline, as plain async functions over a run directory. Temporal
// activities call them (activities/), and so can scripts and tests, without a server.
export { resolveRun, configFromRequest, describeConfig, type RunRequest, type RunPlan } from './resolve';
export { prepareRunData, withLocalSource, type ProgressFn } from './data';
export { trainRunEpochs, type TrainEpochsOptions, type TrainedEpochs } from './train';
export { evaluateRun, evalPath, embedImages, type EvalResult, type EvalFile } from './evaluate';
export { writeRunReport, latestEvalFile } from './report';
export { exportRunModel, type ExportedRun } from './export';
export { Sessions, WorkerBackend, type OpenedSession } from './sessions';
export { datasetFingerprint, readChampion, promoteChampion, type ChampionRecord } from './champion';
