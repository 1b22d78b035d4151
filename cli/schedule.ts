// `facenet schedule`: a Temporal Schedule that starts retrainFaceNet (retrain on changed data, promote a better
// champion) every interval. `schedule --config ...` creates it (--update replaces an existing one) and then,
// like `run`, serves it: an in-process worker runs each retrain the schedule starts (--now: one at once), with
// its progress, until Ctrl-C. On the embedded default that is also the only time the schedule can fire: the
// local server runs only while a command (or `npm run worker`) holds it. --detach only creates it.
// `schedule list | pause | unpause | delete | trigger` manage existing ones.
import type { Command } from 'commander';
import { ScheduleAlreadyRunning, ScheduleNotFoundError, WorkflowNotFoundError, type ScheduleHandle, type WorkflowHandle } from '@temporalio/client';
import { msToNumber } from '@temporalio/common/lib/time';
import type { RetrainInput, RetrainResult } from '../activities/types';
import { WORKFLOW_TASK_QUEUE } from '../temporal/task-queues';
import { challengerIdFor, runIdFor } from '../workflows/run-id';
import { checkRunId } from '../src/run/run-dir';
import { loadConfig } from '../src/config/load';
import { EXIT_INTERRUPTED, UsageError, explainFailure } from './failure';
import { EtaEstimator, ProgressView, runLine, snapshot } from './progress';
import { onInterrupt, Session } from './session';

const DEFAULT_ID = 'facenet-retrain';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface CreateOptions {
  config: string;
  set: string[];
  every: string;
  champion: string;
  id: string;
  warmStart?: boolean;
  update?: boolean;
  now?: boolean;
  detach?: boolean;
}

export function registerSchedule(program: Command, collect: (value: string, previous: string[]) => string[]): void {
  const schedule = program.command('schedule').description('scheduled retraining: create, list, pause, unpause, delete, trigger');
  schedule
    .command('create', { isDefault: true })
    .description('create (or with --update replace) a schedule that retrains and promotes a better champion; then serve it')
    .requiredOption('-c, --config <path>', 'run config (YAML)')
    .option('-s, --set <path=value>', 'config override (repeatable)', collect, [])
    .option('--every <interval>', 'how often, e.g. 1d, 7d, 12h', '7d')
    .option('--champion <dir>', 'where the champion model is kept', 'runs/champion')
    .option('--id <scheduleId>', 'schedule id', DEFAULT_ID)
    .option('--warm-start', 'start challengers from the champion weights')
    .option('--update', 'replace the schedule with this id if it exists')
    .option('--now', 'also start one retrain at once')
    .option('--detach', 'only create the schedule; a worker (npm run worker) serves it')
    .action(createCommand);
  schedule.command('list').description('every schedule, with its state and next run').action(listCommand);
  schedule
    .command('pause <scheduleId>')
    .option('--note <text>', 'why (shown by list)', 'paused from the facenet CLI')
    .description('stop starting retrains until unpaused')
    .action((id: string, o: { note: string }) => withSchedule(id, (h) => h.pause(o.note), `Paused ${id}.`));
  schedule
    .command('unpause <scheduleId>')
    .description('start retrains again')
    .action((id: string) => withSchedule(id, (h) => h.unpause('unpaused from the facenet CLI'), `Unpaused ${id}.`));
  schedule
    .command('delete <scheduleId>')
    .description('delete the schedule (runs it started, the champion and run directories stay)')
    .action((id: string) => withSchedule(id, (h) => h.delete(), `Deleted ${id}.`));
  schedule
    .command('trigger <scheduleId>')
    .description('start one retrain now and follow it (with an in-process worker)')
    .option('--detach', 'only start it; a worker (npm run worker) runs it')
    .action(async (id: string, o: { detach?: boolean }) => {
      const session = await Session.open();
      try {
        await serve(session, id, { trigger: true, once: true, detach: o.detach });
      } finally {
        await session.close();
      }
    });
}

function checkInterval(every: string): void {
  let ms = NaN;
  try {
    ms = msToNumber(every as '1d');
  } catch {
    // reported below
  }
  if (!Number.isFinite(ms) || ms <= 0) throw new UsageError(`--every "${every}" is not an interval; use e.g. 12h, 1d or 7d.`);
}

async function withSchedule(id: string, act: (h: ScheduleHandle) => Promise<void>, done: string): Promise<void> {
  const session = await Session.open();
  try {
    await act(session.client.schedule.getHandle(id));
    console.log(done);
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) throw new UsageError(`No schedule ${id}; see them with: npm run facenet -- schedule list`);
    throw err;
  } finally {
    await session.close();
  }
}

function formatInterval(every: unknown): string {
  const ms = typeof every === 'number' ? every : msToNumber(every as '1d');
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

async function listCommand(): Promise<void> {
  const session = await Session.open();
  try {
    const ids: string[] = [];
    for await (const s of session.client.schedule.list()) ids.push(s.scheduleId);
    // The list comes from the visibility store, which lags a pause by a moment: each schedule is described.
    for (const id of ids) {
      const s = await session.client.schedule
        .getHandle(id)
        .describe()
        .catch((err: unknown) => (err instanceof ScheduleNotFoundError ? null : Promise.reject(err)));
      if (!s) continue; // just deleted
      const every = s.spec.intervals?.map((i) => `every ${formatInterval(i.every)}`).join(', ') ?? '';
      const next = s.info.nextActionTimes[0]?.toISOString() ?? '-';
      const last = s.info.recentActions[s.info.recentActions.length - 1];
      console.log(
        `${id}: ${s.state.paused ? `paused (${s.state.note ?? ''})` : 'active'}, ${every}, next ${s.state.paused ? '-' : next}` +
          (last ? `, last started ${last.takenAt.toISOString()} (${last.action.workflow.workflowId})` : ''),
      );
    }
    if (ids.length === 0) console.log('No schedules. Create one with: npm run facenet -- schedule --config <config> --every 7d');
  } finally {
    await session.close();
  }
}

async function createCommand(opts: CreateOptions): Promise<void> {
  loadConfig(opts.config, opts.set);
  checkInterval(opts.every);
  // the challengers' run folders are named after the retrains' ids, which are the schedule's id and a time
  checkRunId(runIdFor(challengerIdFor(`${opts.id}-2026-01-01T00:00:00Z`, '00000000-0000-0000-0000-000000000000')));
  const session = await Session.open();
  try {
    console.log(session.describeTarget());
    const input: RetrainInput = { configPath: opts.config, overrides: opts.set, championDir: opts.champion, warmStart: Boolean(opts.warmStart) };
    const spec = { intervals: [{ every: opts.every as '1d' }] };
    const action = { type: 'startWorkflow' as const, workflowType: 'retrainFaceNet', taskQueue: WORKFLOW_TASK_QUEUE, args: [input] };
    try {
      await session.client.schedule.create({ scheduleId: opts.id, spec, action });
      console.log(`Created schedule ${opts.id}: retrainFaceNet every ${opts.every}.`);
    } catch (err) {
      if (!(err instanceof ScheduleAlreadyRunning)) throw err;
      if (!opts.update) {
        throw new UsageError(`Schedule ${opts.id} already exists. Replace it with --update, choose another --id, or see them with: npm run facenet -- schedule list`);
      }
      await session.client.schedule.getHandle(opts.id).update((previous) => ({ ...previous, spec, action }));
      console.log(`Updated schedule ${opts.id}: retrainFaceNet every ${opts.every}.`);
    }
    if (opts.detach) {
      console.log(`Detached: the schedule starts runs only while a worker (npm run worker) and the server run. Start one now with: npm run facenet -- schedule trigger ${opts.id}`);
      return;
    }
    await serve(session, opts.id, { trigger: Boolean(opts.now), once: false });
  } finally {
    await session.close();
  }
}

function followRetrain(handle: WorkflowHandle, runId: string, view: ProgressView, result: Promise<unknown>): Promise<void> {
  const challenger = handle.client.getHandle(challengerIdFor(handle.workflowId, runId));
  const eta = new EtaEstimator();
  let settled = false;
  void result.then(
    () => (settled = true),
    () => (settled = true),
  );
  return (async () => {
    while (!settled) {
      const line = await snapshot(challenger).then(
        (s) => runLine(s, eta),
        (err: unknown) => ({ fraction: 0, text: err instanceof WorkflowNotFoundError ? 'checking the dataset and the champion' : 'starting' }),
      );
      view.update(handle.workflowId, line);
      await Promise.race([sleep(1000), result.catch(() => undefined)]);
    }
  })();
}

function describeRetrain(r: RetrainResult): string {
  if (r.skipped) return `skipped: ${r.reason}`;
  return `${r.promoted ? 'promoted' : 'not promoted'}: ${r.reason}` + (r.challenger ? ` (run dir ${r.challenger.runDir})` : '');
}

/**
 * Serves a schedule with an in-process worker: follows each retrain it starts (after triggering one when asked),
 * until Ctrl-C, or after the first one when `once`.
 */
async function serve(session: Session, id: string, how: { trigger: boolean; once: boolean; detach?: boolean }): Promise<void> {
  const view = new ProgressView();
  try {
    const schedule = session.client.schedule.getHandle(id);
    const seen = await schedule.describe().then(
      (d) => d.info.recentActions.length,
      (err: unknown) => Promise.reject(err instanceof ScheduleNotFoundError ? new UsageError(`No schedule ${id}; see them with: npm run facenet -- schedule list`) : err),
    );
    if (how.trigger) await schedule.trigger();
    if (how.detach) {
      console.log(`Triggered ${id}; a worker (npm run worker) runs it. See it with: npm run facenet -- schedule list`);
      return;
    }
    let stopping = false;
    let current: WorkflowHandle | null = null;
    let stopIdle: () => void = () => undefined;
    const idle = new Promise<void>((resolve) => (stopIdle = resolve));
    const removeHandler = onInterrupt(
      () => {
        stopping = true;
        if (!current) {
          stopIdle();
          return;
        }
        // The in-process worker keeps serving until the cancelled retrain has settled: its challenger's training
        // activity writes the checkpoint, and the run's cancellation needs the worker too (the loop below ends then).
        view.log(`Cancelling ${current.workflowId}… training stops after a checkpoint (Ctrl-C again to stop at once).`);
        current.cancel().catch((err: unknown) => view.log(`Could not cancel: ${explainFailure(err).message}`));
      },
      () => {
        view.close();
        console.log('\nStopping at once.');
        session.forceExit(async () => current?.terminate('stopped at once by a second Ctrl-C'));
      },
    );
    try {
      view.start();
      await session.startWorker(idle, (line) => view.log(line));
      view.log(`Serving schedule ${id} (worker log: ${Session.workerLogPath()}); Ctrl-C stops.`);
      let handled = seen;
      while (!stopping) {
        const desc = await schedule.describe();
        const actions = desc.info.recentActions;
        if (stopping) break; // Ctrl-C while nothing was followed: the worker is already stopping
        // recentActions keeps only the last few: compare by count taken, follow the newest not yet followed
        if (desc.info.numActionsTaken > handled && actions.length > 0) {
          handled = desc.info.numActionsTaken;
          const { workflowId: started, firstExecutionRunId } = actions[actions.length - 1]!.action.workflow;
          current = session.client.workflow.getHandle(started);
          const result = current.result() as Promise<RetrainResult>;
          view.log(`Retrain ${started} started.`);
          await followRetrain(current, firstExecutionRunId, view, result);
          view.remove(started); // its outcome is the line below, not a stale bar
          try {
            view.log(`Retrain ${started}: ${describeRetrain(await result)}`);
          } catch (err) {
            view.log(`Retrain ${started} ${stopping ? 'cancelled' : `failed: ${explainFailure(err).message}`}`);
          }
          current = null;
          if (how.once) break;
        } else if (how.once && !how.trigger) break;
        else if (!stopping && desc.info.numActionsTaken === handled) {
          const next = desc.info.nextActionTimes[0];
          view.update(id, { fraction: 0, text: desc.state.paused ? 'paused' : `next retrain ${next ? next.toISOString() : 'not planned'}` });
        }
        await Promise.race([sleep(2000), idle]);
      }
      stopIdle();
      view.close();
      if (stopping) {
        console.log(`Stopped serving ${id}; the schedule stays (its runs start while a worker and the server run).`);
        process.exitCode = EXIT_INTERRUPTED;
      }
    } finally {
      stopIdle(); // the in-process worker stops with the command, also after an error
      removeHandler();
    }
  } finally {
    view.close();
  }
}
