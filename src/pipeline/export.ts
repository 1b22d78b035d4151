// Step 6: the trained embedding model in the standard tfjs format, with its preprocessing and threshold.
// export.checkpoint says which checkpoint: the last epoch's (final), or the evaluated epoch with the best
// balanced accuracy on the validation pairs (best-validation). Its threshold is the one chosen on the validation pairs (Youden's J)
// when the run has them, else the one chosen on the test pairs (in-sample; the sidecar says which).
import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { checkpointName, exportModel, loadCheckpointModel, parseCheckpointName, readBest, runDataOf, type ExportedEvaluation } from '../train';
import { ConfigError } from '../config/load';
import { readRunConfig, runPaths } from '../run/run-dir';
import type { Sessions } from './sessions';
import { balancedAccuracy, evalPath, VALIDATION_METRIC, type EvalFile } from './evaluate';

/** The epoch whose checkpoint is exported: `finalEpoch`, or the best by validation balanced accuracy. */
async function exportedEpoch(runDir: string, finalEpoch: number, which: 'final' | 'best-validation'): Promise<number> {
  if (which === 'final') return finalEpoch;
  const best = await readBest(runPaths(runDir).checkpoints);
  const epoch = best?.metric === VALIDATION_METRIC ? parseCheckpointName(best.checkpoint)?.epoch : undefined;
  if (epoch === undefined) {
    throw new ConfigError(`export.checkpoint is best-validation, but ${runPaths(runDir).checkpoints}/best.json names no validation-scored checkpoint; evaluate at least once with dataset.validationIdentities > 0.`);
  }
  return epoch;
}

/** What export wrote: the model folder, the epoch of its checkpoint, and that checkpoint's own test figures. */
export interface ExportedRun {
  modelDir: string;
  epoch: number;
  /** The sidecar's test accuracy and AUC (its `metrics`); null when the exported checkpoint was not evaluated. */
  test: { accuracy: number; auc: number } | null;
}

export async function exportRunModel(sessions: Sessions, runDir: string, finalEpoch: number, cachePath: string): Promise<ExportedRun> {
  const config = readRunConfig(runDir);
  await sessions.backend.ensure(config);
  const paths = runPaths(runDir);
  const epoch = await exportedEpoch(runDir, finalEpoch, config.export.checkpoint);
  const { dataset, normalization } = await runDataOf(await sessions.dataset(cachePath), config);
  const checkpointPath = join(paths.checkpoints, checkpointName(epoch));
  const { model } = await loadCheckpointModel({ config, inputShape: [dataset.height, dataset.width, dataset.channels], checkpointPath });
  let figures: ExportedRun['test'] = null;
  try {
    // The threshold and metrics of the exported checkpoint's own evaluation: another epoch's would not fit these weights.
    const evalFile = evalPath(runDir, epoch);
    const ev = existsSync(evalFile) ? (JSON.parse(readFileSync(evalFile, 'utf8')) as EvalFile) : null;
    const test = ev ? (ev.kfold ? { accuracy: ev.kfold.accuracy.mean, threshold: ev.kfold.threshold.mean } : ev.verification) : null;
    const metrics: Record<string, number> = {};
    const evaluation: ExportedEvaluation | null =
      ev && test ? { epoch, file: relative(paths.root, evalFile), protocol: ev.protocol, metric: 'accuracy', value: test.accuracy } : null;
    if (ev && test) {
      metrics['testAccuracy'] = test.accuracy;
      metrics['testAuc'] = ev.verification.auc;
      metrics['testEer'] = ev.verification.eer;
      const heldOut = ev.kfold ?? ev.heldOut;
      if (heldOut) metrics['testHeldOutAccuracy'] = heldOut.accuracy.mean;
      if (ev.validation) {
        metrics['validationAccuracy'] = ev.validation.accuracy;
        metrics['validationBalancedAccuracy'] = balancedAccuracy(ev.validation);
      }
      figures = { accuracy: test.accuracy, auc: ev.verification.auc };
    }
    await exportModel(model, paths.exported, {
      preprocess: config.preprocess,
      normalization,
      model: config.model,
      threshold: ev?.validation?.threshold ?? test?.threshold ?? null,
      thresholdFrom: ev?.validation ? 'validation pairs' : test ? (ev?.kfold ? 'test folds (k-fold mean)' : 'test pairs (in-sample)') : null,
      distance: config.loss.distance,
      flipTTA: config.evaluation.flipTTA,
      metrics,
      evaluation,
      runId: paths.root.split('/').pop() ?? null,
      epoch,
      checkpoint: checkpointName(epoch),
    });
  } finally {
    model.dispose();
  }
  return { modelDir: paths.exported, epoch, test: figures };
}
