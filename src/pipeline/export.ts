// Step 6: the trained embedding model in the standard tfjs format, with its preprocessing and threshold.
import { exportModel } from '../train';
import { runPaths } from '../run/run-dir';
import { openSession } from './sessions';
import { latestEvalFile } from './report';

export async function exportRunModel(runDir: string, cachePath: string): Promise<{ modelDir: string }> {
  const { session, config } = await openSession(runDir, cachePath);
  await session.flushCheckpoint();
  const data = session.data;
  if (!data) throw new Error('The training session has no dataset; export needs its normalisation.');
  const ev = latestEvalFile(runDir);
  const modelDir = runPaths(runDir).exported;
  await exportModel(session.model, modelDir, {
    preprocess: config.preprocess,
    normalization: data.normalization,
    model: config.model,
    threshold: ev ? (ev.kfold ? ev.kfold.threshold.mean : ev.verification.threshold) : null,
    distance: config.loss.distance,
    metrics: ev ? { accuracy: ev.kfold ? ev.kfold.accuracy.mean : ev.verification.accuracy, auc: ev.verification.auc, epoch: ev.epoch } : undefined,
    runId: runPaths(runDir).root.split('/').pop() ?? null,
  });
  return { modelDir };
}
