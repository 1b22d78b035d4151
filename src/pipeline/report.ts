// Step 5: the run report (runs/<id>/report.html with plots) from the files the run wrote:
// config.json, metrics.csv and the last evaluation in eval/.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describeLoss } from '../config/describe-loss';
import { eerCurve, rocCurve } from '../eval';
import { referenceColumns, verificationMetrics, writeReportFiles, type MetricSet, type RunReportData } from '../report';
import { readMetricsLog, type EpochRow } from '../run/metrics-log';
import { readRunConfig, runPaths } from '../run/run-dir';
import type { EvalFile } from './evaluate';

export function latestEvalFile(runDir: string): EvalFile | null {
  const dir = runPaths(runDir).evalDir;
  if (!existsSync(dir)) return null;
  const files = readdirSync(dir).filter((f) => /^epoch-\d{4}\.json$/.test(f)).sort();
  const last = files[files.length - 1];
  return last ? (JSON.parse(readFileSync(join(dir, last), 'utf8')) as EvalFile) : null;
}

function metricSetOf(ev: EvalFile, log: EpochRow[]): MetricSet {
  const timed = log.filter((r) => Number.isFinite(r.seconds) && r.seconds > 0);
  const mean = (f: (r: EpochRow) => number) => (timed.length ? timed.reduce((s, r) => s + f(r), 0) / timed.length : undefined);
  return { secondsPerEpoch: mean((r) => r.seconds), imagesPerSecond: mean((r) => r.imagesPerSecond), ...verificationMetrics(ev.verification, ev.kfold) };
}

/**
 * The run's wall time: from its first file (config.json, written when the run was resolved) to its last result
 * (metrics.csv or an evaluation), pauses between a cancel and a resume included. Undefined before any result.
 */
export function runWallSeconds(runDir: string): number | undefined {
  const paths = runPaths(runDir);
  if (!existsSync(paths.config)) return undefined;
  const start = statSync(paths.config).mtimeMs;
  const results = [paths.metrics, ...(existsSync(paths.evalDir) ? readdirSync(paths.evalDir).filter((f) => /^epoch-\d{4}\.json$/.test(f)).map((f) => join(paths.evalDir, f)) : [])];
  const ends = results.filter((f) => existsSync(f)).map((f) => statSync(f).mtimeMs);
  return ends.length ? Math.max(0, (Math.max(...ends) - start) / 1000) : undefined;
}

export async function writeRunReport(runDir: string): Promise<{ reportPath: string }> {
  const config = readRunConfig(runDir);
  const paths = runPaths(runDir);
  const log = readMetricsLog(paths.metrics);
  const ev = latestEvalFile(runDir);
  const split = config.dataset.split;
  const notes: string[] = [];
  if (ev) notes.push(`Protocol: ${ev.protocol}.`);
  if (ev?.heldOut) {
    notes.push(
      `The accuracy above uses a threshold chosen on the pairs it scores (in-sample, as the reference reports it). ` +
        `At thresholds chosen without them (${ev.heldOut.folds} folds of the same pairs, each scored at the threshold of the other ${ev.heldOut.folds - 1}): ` +
        `accuracy ${ev.heldOut.accuracy.mean.toFixed(4)} ± ${ev.heldOut.accuracy.std.toFixed(4)}.`,
    );
  }
  if (ev?.view2) {
    notes.push(
      `LFW View 2 (pairs.txt, 10-fold, overlapping the training identities as the reference's 88.35% also did): ` +
        `accuracy ${ev.view2.accuracy.mean.toFixed(4)} ± ${ev.view2.accuracy.std.toFixed(4)}, AUC ${ev.view2.aucAll.toFixed(4)}, ` +
        ev.view2.tarAtFar.map((t) => `TAR@FAR=${t.farTarget}: ${t.tar.mean.toFixed(4)}`).join(', ') +
        `, VAL@FAR=1e-3 ${ev.view2.val.tar.mean.toFixed(4)}.`,
    );
  }
  const data: RunReportData = {
    runId: paths.root.split('/').pop() ?? 'run',
    title: `FaceNet run ${paths.root.split('/').pop()}`,
    description: config.description,
    generatedAt: new Date().toISOString(),
    summary: {
      dataset: config.dataset.name,
      model: `${config.model.architecture} [${config.model.widths.join(', ')}], ${config.model.embeddingDim}-d`,
      loss: describeLoss(config.loss),
      optimizer: `${config.optimizer.name}, lr ${config.optimizer.learningRate}, schedule ${config.schedule.kind}`,
      'epochs trained': log.length ? (log[log.length - 1] as { epoch: number }).epoch : 0,
      'evaluated at epoch': ev?.epoch ?? 'not evaluated',
    },
    config,
    metrics: ev ? metricSetOf(ev, log) : undefined,
    metricsLabel: 'This run',
    comparisons: referenceColumns(config.dataset.name, split.kind === 'lfw' ? split.view : 'view1'),
    trainingLog: log.map((r) => ({
      epoch: r.epoch,
      loss: r.loss,
      lr: r.lr,
      activeFraction: r.activeFraction,
      ...(r.accuracy != null ? { accuracy: r.accuracy } : {}),
      ...(r.auc != null ? { auc: r.auc } : {}),
    })),
    timings: {
      epochs: log.map((r) => ({ epoch: r.epoch, seconds: r.seconds, imagesPerSecond: r.imagesPerSecond })),
      totalSeconds: runWallSeconds(runDir),
      ...(ev ? { evaluationSeconds: ev.embedding.seconds, embeddingImagesPerSecond: ev.embedding.imagesPerSecond } : {}),
    },
    notes,
  };
  if (ev) {
    const { distances, same } = ev.plotData;
    const roc = rocCurve(distances, same);
    const eer = eerCurve(distances, same);
    data.roc = { far: roc.far, tar: roc.tar, auc: ev.verification.auc };
    data.eer = { ...eer, eer: ev.verification.eer, eerThreshold: ev.verification.eerThreshold };
    data.distances = { distances, same, threshold: ev.verification.threshold };
    if (config.evaluation.tsne) {
      data.tsne = { embeddings: ev.plotData.embeddings, dim: ev.plotData.dim, labels: ev.plotData.identities, seed: config.training.seed };
    }
  }
  const written = await writeReportFiles(paths.root, data);
  for (const w of written.warnings) console.warn(`[report] ${w}`);
  return { reportPath: written.reportPath };
}
