// Step 6: the trained embedding model in the standard tfjs format, with its preprocessing and threshold.
// The exported weights are those of the run's latest checkpoint (the final epoch); the sidecar records which
// checkpoint that is, and the threshold and metrics of that same checkpoint's evaluation: a threshold found
// for another epoch's weights would not fit these.
import { existsSync, readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { checkpointName, exportModel, type ExportedEvaluation } from '../train';
import { runPaths } from '../run/run-dir';
import { openSession } from './sessions';
import { evalPath, type EvalFile } from './evaluate';

export async function exportRunModel(runDir: string, cachePath: string): Promise<{ modelDir: string }> {
  const { session, config } = await openSession(runDir, cachePath);
  await session.flushCheckpoint();
  const data = session.data;
  if (!data) throw new Error('The training session has no dataset; export needs its normalisation.');
  const paths = runPaths(runDir);
  const epoch = session.state.epoch;
  const evalFile = evalPath(runDir, epoch);
  const ev = existsSync(evalFile) ? (JSON.parse(readFileSync(evalFile, 'utf8')) as EvalFile) : null;
  const evaluation: ExportedEvaluation | null = ev
    ? { epoch, file: relative(paths.root, evalFile), protocol: ev.protocol, metric: 'accuracy', value: ev.kfold ? ev.kfold.accuracy.mean : ev.verification.accuracy }
    : null;
  await exportModel(session.model, paths.exported, {
    preprocess: config.preprocess,
    normalization: data.normalization,
    model: config.model,
    threshold: ev ? (ev.kfold ? ev.kfold.threshold.mean : ev.verification.threshold) : null,
    distance: config.loss.distance,
    flipTTA: config.evaluation.flipTTA,
    metrics: ev && evaluation ? { accuracy: evaluation.value, auc: ev.verification.auc, eer: ev.verification.eer } : undefined,
    evaluation,
    runId: paths.root.split('/').pop() ?? null,
    epoch,
    checkpoint: checkpointName(epoch),
  });
  return { modelDir: paths.exported };
}
