// The run report (src/report) for a user's own pairs: the same metrics table, ROC, FAR/FRR and distance plots.
import { eerCurve, rocCurve } from '../eval';
import { verificationMetrics, writeReportFiles, type RunReportData } from '../report';
import type { PairsEvaluation } from './pairs';

/** Writes `dir`/report.html (and its plots in `dir`/plots); returns the report's path and any plot warnings. */
export async function writePairsReport(dir: string, r: PairsEvaluation): Promise<{ reportPath: string; warnings: string[] }> {
  const v = r.verification;
  const k = r.kfold;
  const roc = rocCurve(r.distances, r.same);
  const eer = eerCurve(r.distances, r.same);
  const threshold = k ? k.threshold.mean : v.threshold;
  const data: RunReportData = {
    runId: r.model.runId ?? 'model',
    title: `FaceNet model ${r.model.runId ?? r.model.dir} on ${r.pairsFile}`,
    summary: {
      model: r.model.dir,
      'model epoch': r.model.epoch ?? 'unknown',
      pairs: `${r.pairsFile} (${r.format}: ${v.positives} same, ${v.negatives} different)`,
      images: `${r.images} under ${r.imagesRoot}`,
      distance: r.distance,
    },
    metrics: verificationMetrics(v, k),
    metricsLabel: 'Your pairs',
    roc: { far: roc.far, tar: roc.tar, auc: v.auc },
    eer: { ...eer, eer: v.eer, eerThreshold: v.eerThreshold },
    distances: { distances: r.distances, same: r.same, threshold },
    notes: [
      k
        ? `Accuracy and threshold: ${k.folds}-fold protocol (${r.foldsFrom === 'file' ? "the pairs file's folds" : 'the pairs dealt into folds, each kind round-robin'}; threshold chosen on the other folds, by ${k.criterion}).`
        : `Accuracy and threshold chosen on these same pairs (by ${v.criterion}): optimistic; too few pairs of one kind for folds.`,
      ...(r.atModelThreshold
        ? [`At the model's own threshold ${r.atModelThreshold.threshold.toFixed(4)} (what verify and identify use): accuracy ${r.atModelThreshold.accuracy.toFixed(4)}, TAR ${r.atModelThreshold.tar.toFixed(4)}, FAR ${r.atModelThreshold.far.toFixed(4)}.`]
        : []),
    ],
  };
  const written = await writeReportFiles(dir, data);
  return { reportPath: written.reportPath, warnings: written.warnings };
}
