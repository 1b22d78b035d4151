// `facenet sweep`: a hyper-parameter sweep (the sweepFaceNet workflow: one child trainFaceNet per trial, a few
// at a time) run like `run`: an in-process worker, one progress line per trial, a summary table at the end.
import type { Command } from 'commander';
import type { WorkflowHandle } from '@temporalio/client';
import type { SweepInput, SweepResult, SweepTrialResult } from '../activities/types';
import type { SweepTrialState } from '../workflows/sweep';
import { WORKFLOW_TASK_QUEUE } from '../temporal/task-queues';
import { loadConfig } from '../src/config/load';
import { checkRunId } from '../src/run/run-dir';
import { runIdFor } from '../workflows/run-id';
import { EXIT_FAILURE, UsageError } from './failure';
import { EtaEstimator, ProgressView, runLine, snapshot, type RunLine } from './progress';
import { detachedNote, Session, setFlags, shellQuote, statusOf, supervise } from './session';

interface SweepOptions {
  config: string;
  set: string[];
  trial: string[];
  parallel: string;
  id?: string;
  detach?: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function registerSweep(program: Command, collect: (value: string, previous: string[]) => string[]): void {
  program
    .command('sweep')
    .description('hyper-parameter sweep: one training run per --trial, a few at a time, then a summary table')
    .requiredOption('-c, --config <path>', 'run config (YAML)')
    .option('-s, --set <path=value>', 'override for every trial (repeatable)', collect, [])
    .option('-t, --trial <overrides>', 'one trial: overrides separated by ";" (repeatable)', collect, [])
    .option('-p, --parallel <n>', 'trials at once', '2')
    .option('--id <workflowId>', 'sweep workflow id (reuse one to resume a stopped sweep or follow a running one)')
    .option('--detach', 'only start the sweep and print its ids; a worker (npm run worker) runs it')
    .action(sweepCommand);
}

function trialsOf(opts: SweepOptions): string[][] {
  const trials = opts.trial.map((t) => t.split(';').map((s) => s.trim()).filter(Boolean));
  if (trials.length === 0) throw new UsageError('Give at least one --trial, e.g. --trial "optimizer.learningRate=0.001;loss.margin=0.2"');
  // Every trial's config is checked here, so a typo fails now and not minutes into the sweep.
  trials.forEach((overrides, i) => {
    try {
      loadConfig(opts.config, [...opts.set, ...overrides]);
    } catch (err) {
      if (err instanceof Error) err.message = `trial ${i} (--trial "${opts.trial[i]}"): ${err.message}`;
      throw err;
    }
  });
  return trials;
}

function resumeCommand(opts: SweepOptions, id: string): string {
  const args = ['npm', 'run', 'facenet', '--', 'sweep', '--config', opts.config, ...setFlags('--set', opts.set), ...setFlags('--trial', opts.trial), '--parallel', opts.parallel, '--id', id];
  return args.map(shellQuote).join(' ');
}

/** The summary table: trial, overrides, accuracy, AUC, run dir (or the error); the best trial marked with *. */
export function sweepTable(trials: readonly (SweepTrialResult & { state?: SweepTrialState['state'] })[], best: number | null): string[] {
  const rows = trials.map((t) => {
    const final = t.result?.final;
    return [
      `${t.trial}${best === t.trial ? '*' : ''}`,
      t.overrides.join('; ') || '(none)',
      final ? final.accuracy.toFixed(4) : '-',
      final ? final.auc.toFixed(4) : '-',
      t.result ? t.result.runDir : t.error !== null ? `failed: ${t.error.split('\n')[0] || '(no message)'}` : (t.state ?? 'not run'),
    ];
  });
  const header = ['trial', 'overrides', 'accuracy', 'AUC', 'run dir'];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] as string).length)));
  const line = (cells: string[]) => cells.map((cell, c) => (c === cells.length - 1 ? cell : cell.padEnd(widths[c] as number))).join('  ');
  const out = [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
  if (best !== null) out.push('* best final accuracy');
  return out;
}

/** What `facenet status <sweep-id>` prints: every trial, and a progress line for those running. */
export async function sweepStatus(handle: WorkflowHandle): Promise<string[]> {
  const desc = await handle.describe();
  if (desc.status.name === 'COMPLETED') {
    const result = (await handle.result()) as SweepResult;
    return sweepTable(result.trials, result.best);
  }
  const trials = await handle.query<SweepTrialState[]>('trials').catch(() => null);
  if (!trials) return [desc.status.name === 'RUNNING' ? '(no worker answers the trials query: is one running? npm run worker)' : '(no trials: the sweep did not finish)'];
  const out = sweepTable(trials, null);
  for (const t of trials.filter((x) => x.state === 'running')) {
    const line = await snapshot(handle.client.getHandle(t.workflowId)).then((s) => runLine(s, new EtaEstimator()).text, () => 'starting');
    out.push(`trial ${t.trial}: ${line}`);
  }
  return out;
}

function trialLine(t: SweepTrialState): RunLine {
  if (t.state === 'done') {
    const f = t.result?.final;
    return { fraction: 1, text: f ? `done: accuracy ${f.accuracy.toFixed(4)}, AUC ${f.auc.toFixed(4)}` : 'done (not evaluated)' };
  }
  if (t.state === 'failed') return { fraction: 0, text: `failed: ${t.error?.split('\n')[0] || '(no message)'}` };
  return { fraction: 0, text: t.state };
}

async function followSweep(handle: WorkflowHandle, view: ProgressView, result: Promise<unknown>): Promise<void> {
  let settled = false;
  void result.then(
    () => (settled = true),
    () => (settled = true),
  );
  const etas = new Map<number, EtaEstimator>();
  const announced = new Set<number>();
  // Trials last seen running, with their last line: a cancelled sweep ends before the poll sees them stop.
  const running = new Map<number, { workflowId: string; line: RunLine }>();
  while (!settled) {
    try {
      const trials = await handle.query<SweepTrialState[]>('trials');
      running.clear();
      for (const t of trials) {
        const key = `trial ${t.trial}`;
        if (t.state === 'running') {
          const eta = etas.get(t.trial) ?? new EtaEstimator();
          etas.set(t.trial, eta);
          const line = await snapshot(handle.client.getHandle(t.workflowId)).then((s) => runLine(s, eta), () => ({ fraction: 0, text: 'starting' }));
          view.update(key, line);
          running.set(t.trial, { workflowId: t.workflowId, line });
        } else {
          view.update(key, trialLine(t));
          if ((t.state === 'done' || t.state === 'failed') && !announced.has(t.trial)) {
            announced.add(t.trial);
            view.log(`trial ${t.trial} (${t.overrides.join('; ')}): ${trialLine(t).text}`);
          }
        }
      }
    } catch {
      // The sweep has not run its first task yet.
    }
    await Promise.race([sleep(1000), result.catch(() => undefined)]);
  }
  for (const [trial, { workflowId, line }] of running) {
    const status = await statusOf(handle.client.getHandle(workflowId)).catch(() => null);
    if (status === 'CANCELLED') view.update(`trial ${trial}`, { fraction: line.fraction, text: 'cancelled: stopped at its latest checkpoint' });
  }
}

async function sweepCommand(opts: SweepOptions): Promise<void> {
  loadConfig(opts.config, opts.set);
  const trials = trialsOf(opts);
  const parallelism = Number(opts.parallel);
  if (!Number.isInteger(parallelism) || parallelism < 1) throw new UsageError(`--parallel must be a whole number of at least 1, but got "${opts.parallel}".`);
  const session = await Session.open();
  const view = new ProgressView();
  try {
    const { client } = session;
    console.log(session.describeTarget());
    const id = opts.id ?? `sweep-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    checkRunId(runIdFor(`${id}-trial-0`)); // the trials' run folders are named after the sweep's id
    const resume = resumeCommand(opts, id);
    let handle: WorkflowHandle = client.workflow.getHandle(id);
    const status = await statusOf(handle);
    if (status === 'COMPLETED') {
      const result = (await handle.result()) as SweepResult;
      console.log(`Sweep ${id} has already finished:`);
      for (const line of sweepTable(result.trials, result.best)) console.log(line);
      return;
    }
    if (status === 'RUNNING') {
      console.log(`Sweep ${id} is already running${opts.detach ? '' : ': following it (Ctrl-C cancels it)'}. ${session.workflowUrl(id)}`);
    } else {
      const input: SweepInput = { configPath: opts.config, overrides: opts.set, trials, parallelism };
      handle = await client.workflow.start('sweepFaceNet', { taskQueue: WORKFLOW_TASK_QUEUE, workflowId: id, args: [input] });
      console.log(`Started sweep ${id} with ${trials.length} trials (${parallelism} at a time)${status ? ` (resuming: it ended ${status.toLowerCase()})` : ''}: ${session.workflowUrl(id)}`);
    }
    if (opts.detach) {
      console.log(`Trial runs: ${trials.map((_, i) => `${id}-trial-${i}`).join(', ')}`);
      console.log(`Detached: a worker (npm run worker) runs the trials. Follow with: npm run facenet -- status ${id}`);
      if (session.target.embedded?.started) console.log(detachedNote);
      return;
    }
    const followed = handle;
    await supervise<SweepResult>({
      session,
      view,
      handle,
      name: `Sweep ${id}`,
      resume,
      cancelling: 'every running trial stops after a checkpoint; finished trials are kept',
      follow: (result) => followSweep(followed, view, result),
      done: (summary) => {
        console.log(`Sweep ${id} finished:`);
        for (const line of sweepTable(summary.trials, summary.best)) console.log(line);
        if (summary.trials.some((t) => t.error !== null)) process.exitCode = EXIT_FAILURE;
      },
    });
  } finally {
    view.close();
    await session.close();
  }
}
