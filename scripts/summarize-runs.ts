// Mean ± std over several runs (e.g. the four AT&T splits) of their last evaluation, for the results table.
//   npx tsx scripts/summarize-runs.ts runs/att-cpu-60ep-trial-0 runs/att-cpu-60ep-trial-1 ... [--out results/x.json]
import { Command } from 'commander';
import { writeJsonAtomic } from '../src/util/durable-fs';
import { meanStd } from '../src/eval';
import { latestEvalFile } from '../src/pipeline';
import { readMetricsLog } from '../src/run/metrics-log';
import { readRunConfig, runPaths } from '../src/run/run-dir';

function main(): void {
  const program = new Command('summarize-runs').argument('<runDirs...>').option('--out <file>').parse();
  const runDirs = program.args;
  const { out } = program.opts<{ out?: string }>();
  const rows = runDirs.map((dir) => {
    const ev = latestEvalFile(dir);
    if (!ev) throw new Error(`${dir} has no evaluation in ${runPaths(dir).evalDir}`);
    const config = readRunConfig(dir);
    const log = readMetricsLog(runPaths(dir).metrics);
    const v = ev.verification;
    const split = config.dataset.split;
    return {
      run: dir,
      split: split.kind === 'att-subjects' ? (split.testSubjects ?? []).join(',') : `${split.view}`,
      epoch: ev.epoch,
      accuracyYouden: v.youdenAccuracy,
      accuracyBest: v.bestAccuracy,
      auc: v.auc,
      eer: v.eer,
      tarAtFar1e2: v.tarAtFar.find((t) => t.farTarget === 1e-2)?.tar ?? null,
      precision: v.precision,
      recall: v.recall,
      threshold: v.threshold,
      trainSeconds: log.reduce((s, r) => s + (Number.isFinite(r.seconds) ? r.seconds : 0), 0),
      imagesPerSecond: log.reduce((s, r) => s + r.imagesPerSecond, 0) / Math.max(log.length, 1),
    };
  });
  const keys = ['accuracyYouden', 'accuracyBest', 'auc', 'eer', 'tarAtFar1e2', 'precision', 'recall', 'threshold', 'trainSeconds', 'imagesPerSecond'] as const;
  const summary = Object.fromEntries(keys.map((k) => [k, meanStd(rows.map((r) => Number(r[k])))]));
  const result = { runs: rows, meanStd: summary, std: 'population (numpy default)' };
  console.log('| metric | ' + rows.map((r) => r.split).join(' | ') + ' | mean ± std |');
  console.log('| --- |' + rows.map(() => ' --- |').join('') + ' --- |');
  for (const k of keys) {
    const cells = rows.map((r) => (r[k] === null ? '-' : Number(r[k]).toFixed(k === 'trainSeconds' ? 0 : 3)));
    const ms = summary[k] as { mean: number; std: number };
    console.log(`| ${k} | ${cells.join(' | ')} | ${ms.mean.toFixed(k === 'trainSeconds' ? 0 : 3)} ± ${ms.std.toFixed(k === 'trainSeconds' ? 0 : 3)} |`);
  }
  if (out) writeJsonAtomic(out, result);
}

main();
