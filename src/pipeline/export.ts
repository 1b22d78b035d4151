// Step 6: the trained embedding model in the standard tfjs format, with its preprocessing and threshold.
// The weights are read from the checkpoint of the run's final epoch.
import { join } from 'node:path';
import { checkpointName, exportModel, loadCheckpointModel, runDataOf } from '../train';
import { readRunConfig, runPaths } from '../run/run-dir';
import type { Sessions } from './sessions';
import { latestEvalFile } from './report';

export async function exportRunModel(sessions: Sessions, runDir: string, epoch: number, cachePath: string): Promise<{ modelDir: string }> {
  const config = readRunConfig(runDir);
  await sessions.backend.ensure(config);
  const paths = runPaths(runDir);
  const { dataset, normalization } = await runDataOf(await sessions.dataset(cachePath), config);
  const checkpointPath = join(paths.checkpoints, checkpointName(epoch));
  const { model } = await loadCheckpointModel({ config, inputShape: [dataset.height, dataset.width, dataset.channels], checkpointPath });
  try {
    const ev = latestEvalFile(runDir);
    await exportModel(model, paths.exported, {
      preprocess: config.preprocess,
      normalization,
      model: config.model,
      threshold: ev ? (ev.kfold ? ev.kfold.threshold.mean : ev.verification.threshold) : null,
      distance: config.loss.distance,
      metrics: ev ? { accuracy: ev.kfold ? ev.kfold.accuracy.mean : ev.verification.accuracy, auc: ev.verification.auc, epoch: ev.epoch } : undefined,
      runId: paths.root.split('/').pop() ?? null,
    });
  } finally {
    model.dispose();
  }
  return { modelDir: paths.exported };
}
