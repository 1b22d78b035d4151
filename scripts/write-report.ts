// Rebuilds a run's report.html and plots from its files (config, metrics log, evaluations).
//   npx tsx scripts/write-report.ts runs/<run-id> [more run dirs...]
import { writeRunReport } from '../src/pipeline';

async function main(): Promise<void> {
  const runDirs = process.argv.slice(2);
  if (runDirs.length === 0) throw new Error('Usage: npx tsx scripts/write-report.ts runs/<run-id> [...]');
  for (const dir of runDirs) console.log((await writeRunReport(dir)).reportPath);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
