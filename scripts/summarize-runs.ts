// Mean ± std over several runs of their last evaluation (e.g. the four AT&T splits x three seeds): per split
// over its seeds, and over all runs; one JSON and a Markdown table.
//   npx tsx scripts/summarize-runs.ts runs/att-cpu-12-trial-{0..11} [--out results/att-cpu-4x3.json]
import { Command } from 'commander';
import { writeJsonAtomic } from '../src/util/durable-fs';
import { meanStd, type MeanStd } from '../src/eval';
import { latestEvalFile } from '../src/pipeline';
import { readMetricsLog } from '../src/run/metrics-log';
import { readRunConfig, runPaths } from '../src/run/run-dir';

const KEYS = ['accuracyYouden', 'accuracyHeldOut', 'accuracyBest', 'auc', 'eer', 'tarAtFar1e2', 'trainSeconds'] as const;
type Key = (typeof KEYS)[number];
type Row = { run: string; split: string; seed: number; epoch: number } & Record<Key, number | null>;

function rowOf(dir: string): Row {
  const ev = latestEvalFile(dir);
  if (!ev) throw new Error(`${dir} has no evaluation in ${runPaths(dir).evalDir}`);
  const config = readRunConfig(dir);
  const v = ev.verification;
  const split = config.dataset.split;
  return {
    run: dir,
    split: split.kind === 'att-subjects' ? (split.testSubjects ?? [`fold ${split.fold}/${split.folds}`]).join(',') : `${split.view}`,
    seed: config.training.seed,
    epoch: ev.epoch,
    accuracyYouden: v.youdenAccuracy,
    accuracyHeldOut: (ev.kfold ?? ev.heldOut)?.accuracy.mean ?? null,
    accuracyBest: v.bestAccuracy,
    auc: v.auc,
    eer: v.eer,
    tarAtFar1e2: v.tarAtFar.find((t) => t.farTarget === 1e-2)?.tar ?? null,
    trainSeconds: readMetricsLog(runPaths(dir).metrics).reduce((s, r) => s + (Number.isFinite(r.seconds) ? r.seconds : 0), 0),
  };
}

function stats(rows: Row[]): Record<Key, MeanStd | null> {
  return Object.fromEntries(
    KEYS.map((k) => {
      const values = rows.map((r) => r[k]).filter((x): x is number => x !== null);
      return [k, values.length ? meanStd(values) : null];
    }),
  ) as Record<Key, MeanStd | null>;
}

function main(): void {
  const program = new Command('summarize-runs').argument('<runDirs...>').option('--out <file>').parse();
  const { out } = program.opts<{ out?: string }>();
  const rows = program.args.map(rowOf);
  const splits = [...new Set(rows.map((r) => r.split))];
  const perSplit = splits.map((split) => ({ split, seeds: rows.filter((r) => r.split === split).map((r) => r.seed), ...stats(rows.filter((r) => r.split === split)) }));
  const overall = stats(rows);
  const fmt = (m: MeanStd | null, k: Key) => (m ? `${m.mean.toFixed(k === 'trainSeconds' ? 0 : 3)} ± ${m.std.toFixed(k === 'trainSeconds' ? 0 : 3)}` : '-');
  console.log(`| metric | ${splits.join(' | ')} | **all ${rows.length} runs** |`);
  console.log(`| --- |${splits.map(() => ' --- |').join('')} --- |`);
  for (const k of KEYS) console.log(`| ${k} | ${perSplit.map((p) => fmt(p[k], k)).join(' | ')} | **${fmt(overall[k], k)}** |`);
  console.log(`\nSeeds per split: ${perSplit.map((p) => `${p.split}: ${p.seeds.join(', ')}`).join('; ')}. std is the population std (numpy's default).`);
  if (out) writeJsonAtomic(out, { runs: rows, perSplit, overall, std: 'population (numpy default)' });
}

main();
