// The pipeline's command line. With no TEMPORAL_ADDRESS it runs everything locally on the embedded
// default: a Temporal dev server it starts itself (Web UI on http://localhost:8233) and an in-process worker.
//
//   npm start -- --config configs/att-cpu.yml          train (the main job), with a progress bar
//   npm run facenet -- status <workflow-id>            a run's progress, a sweep's trials
//   npm run facenet -- sweep --config ... --trial optimizer.learningRate=0.001 --trial optimizer.learningRate=0.0003
//   npm run facenet -- schedule --config ... --every 7d --champion runs/champion-att
//
// Ctrl-C cancels what the command follows (the training activity writes a checkpoint first) and prints how to
// resume; a second Ctrl-C stops at once. Exit codes: 0 done, 1 failed, 2 bad input (fix the config, run id or
// data: retrying cannot help), 130 interrupted.
import { Command } from 'commander';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import type { Progress, TrainInput, TrainResult } from './activities/types';
import { WORKFLOW_TASK_QUEUE } from './temporal/task-queues';
import { temporalCliForMessages } from './temporal/cli-binary';
import { loadConfig } from './src/config/load';
import { checkRunId } from './src/run/run-dir';
import { UsageError, explainFailure } from './cli/failure';
import { EtaEstimator, ProgressView, runLine, snapshot } from './cli/progress';
import { detachedNote, Session, setFlags, shellQuote, statusOf, supervise } from './cli/session';
import { registerSweep, sweepStatus } from './cli/sweep';
import { registerSchedule } from './cli/schedule';
import { registerModelCommands } from './cli/model-commands';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface RunOptions {
  config: string;
  set: string[];
  runId?: string;
  detach?: boolean;
}

/** The command that resumes (or re-attaches to) this run: every option the user gave, with the run id. */
function resumeCommand(opts: RunOptions, runId: string): string {
  return ['npm', 'start', '--', '--config', opts.config, ...setFlags('--set', opts.set), '--run-id', runId].map(shellQuote).join(' ');
}

/** Where a finished run's results are. */
export function describeResult(r: TrainResult): string[] {
  const lines = [`run dir: ${r.runDir}`];
  if (r.final) lines.push(`final evaluation (epoch ${r.final.epoch}): accuracy ${r.final.accuracy.toFixed(4)}, AUC ${r.final.auc.toFixed(4)}, EER ${r.final.eer.toFixed(4)}`);
  if (r.best && r.best.epoch !== r.final?.epoch) lines.push(`best evaluation: accuracy ${r.best.accuracy.toFixed(4)} at epoch ${r.best.epoch}`);
  if (r.reportPath) lines.push(`report: ${r.reportPath}`);
  if (r.modelDir) lines.push(`model: ${r.modelDir}`);
  return lines;
}

/**
 * Follows a training run with a progress line until `result` settles; the view shows it as `key`.
 * Polls once a second: heartbeats arrive every 2 s at most (temporal/workers.ts), so no step shown is stale by more.
 */
export async function followRun(handle: WorkflowHandle, view: ProgressView, key: string, result: Promise<unknown>): Promise<void> {
  let settled = false;
  void result.then(
    () => (settled = true),
    () => (settled = true),
  );
  const eta = new EtaEstimator();
  while (!settled) {
    try {
      view.update(key, runLine(await snapshot(handle), eta));
    } catch {
      // Not started yet, or the server is busy: the next poll will tell.
    }
    await Promise.race([sleep(1000), result.catch(() => undefined)]);
  }
}

async function runCommand(opts: RunOptions): Promise<void> {
  loadConfig(opts.config, opts.set); // a config error is reported here, before anything starts
  if (opts.runId !== undefined) checkRunId(opts.runId); // and a run id that cannot name a folder
  const session = await Session.open();
  const view = new ProgressView();
  try {
    const { client } = session;
    const workflowId = opts.runId ?? `${opts.config.replace(/^.*\//, '').replace(/\.ya?ml$/, '')}-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    const resume = resumeCommand(opts, workflowId);
    console.log(session.describeTarget());

    // A run id that names a running run follows it; a finished one is not trained again; a cancelled or
    // failed one is resumed by a new execution, which reads back what its checkpoints and files hold.
    let handle: WorkflowHandle = client.workflow.getHandle(workflowId);
    const status = await statusOf(handle);
    if (status === 'COMPLETED') {
      const result = (await handle.result()) as TrainResult;
      console.log(`Run ${workflowId} has already finished; nothing to do. Its results:`);
      for (const line of describeResult(result)) console.log(`  ${line}`);
      console.log('Choose another --run-id to train again.');
      return;
    }
    if (status === 'RUNNING') {
      console.log(`Run ${workflowId} is already running${opts.detach ? '' : ': following it (Ctrl-C cancels it)'}. ${session.workflowUrl(workflowId)}`);
    } else {
      const input: TrainInput = { configPath: opts.config, overrides: opts.set, runId: workflowId };
      try {
        await client.workflow.start('trainFaceNet', { taskQueue: WORKFLOW_TASK_QUEUE, workflowId, args: [input] });
        // By workflow id alone: the handle start() returns names the first run, and a Ctrl-C's cancel sent to it
        // after the run continued as new (every 25 epochs) never reached the training.
        handle = client.workflow.getHandle(workflowId);
        const again = status ? ` (resuming: its last execution ended ${status.toLowerCase()})` : '';
        console.log(`Started workflow ${workflowId}${again}: ${session.workflowUrl(workflowId)}`);
      } catch (err) {
        // Another command started it a moment ago: follow that one.
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
        console.log(`Run ${workflowId} was just started by another command: following it (Ctrl-C cancels it).`);
      }
    }
    if (opts.detach) {
      console.log(`Detached: a worker (npm run worker) runs it. Follow it with: npm run facenet -- status ${workflowId}`);
      if (session.target.embedded?.started) console.log(detachedNote);
      return;
    }
    const followed = handle;
    await supervise<TrainResult>({
      session,
      view,
      handle,
      name: `Run ${workflowId}`,
      resume,
      cancelling: 'training stops after a checkpoint',
      follow: (result) => followRun(followed, view, workflowId, result),
      done: (summary) => {
        console.log(`Run ${workflowId} finished (${summary.epochs} epochs${summary.stoppedEarly ? ', stopped early' : ''}).`);
        for (const line of describeResult(summary)) console.log(`  ${line}`);
      },
    });
  } finally {
    view.close();
    await session.close();
  }
}

async function statusCommand(workflowId: string): Promise<void> {
  const session = await Session.open();
  try {
    const handle = session.client.workflow.getHandle(workflowId);
    const desc = await handle.describe().catch((err: unknown) => {
      if (err instanceof WorkflowNotFoundError) throw new UsageError(`No workflow ${workflowId}; list runs with: ${temporalCliForMessages()} workflow list --query "WorkflowType='trainFaceNet'"`);
      throw err;
    });
    console.log(`${desc.type} ${workflowId}: ${desc.status.name}, started ${desc.startTime.toISOString()}${desc.closeTime ? `, closed ${desc.closeTime.toISOString()}` : ''}`);
    if (desc.type === 'sweepFaceNet') {
      for (const line of await sweepStatus(handle)) console.log(line);
      return;
    }
    if (desc.status.name === 'RUNNING') {
      console.log(runLine(await snapshot(handle), new EtaEstimator()).text);
      const p = await handle.query<Progress>('progress').catch(() => null);
      if (!p) console.log('(no worker answers the progress query: is one running? npm run worker)');
    } else if (desc.status.name === 'COMPLETED' && desc.type === 'trainFaceNet') {
      for (const line of describeResult((await handle.result()) as TrainResult)) console.log(`  ${line}`);
    } else if (desc.status.name === 'FAILED') {
      await handle.result().catch((err: unknown) => console.log(`  ${explainFailure(err).message}`));
    }
    const memo = desc.memo as { runDir?: string } | undefined;
    if (memo?.runDir && desc.status.name !== 'COMPLETED') console.log(`  run dir: ${memo.runDir}`);
  } finally {
    await session.close();
  }
}

export function buildProgram(): Command {
  const program = new Command('facenet').description('FaceNet training as durable Temporal workflows');
  // Usage mistakes (an unknown option, a missing value) exit with 2, like every other bad input.
  program.exitOverride().showSuggestionAfterError().showHelpAfterError('(add --help for usage)');
  program
    .command('run', { isDefault: true })
    .description('train and evaluate a model (starts a local Temporal server and worker when TEMPORAL_ADDRESS is not set)')
    .option('-c, --config <path>', 'run config (YAML)', 'configs/att-cpu.yml')
    .option('-s, --set <path=value>', 'override a config field, e.g. training.epochs=5 (repeatable)', collect, [])
    .option('--run-id <id>', 'workflow id and run directory name (reuse one to resume a stopped run, or to follow a running one)')
    .option('--detach', 'only start the workflow; a separate worker (npm run worker) runs it')
    .action(runCommand);
  program.command('status <workflowId>').description('state of a run (progress) or a sweep (its trials)').action(statusCommand);
  registerSweep(program, collect);
  registerSchedule(program, collect);
  registerModelCommands(program);
  return program;
}

export async function main(argv = process.argv): Promise<void> {
  const program = buildProgram();
  // `run` is the default command, so commander would read a misspelt command as run's arguments
  // ("too many arguments for 'run'"); name the command instead.
  const first = argv[2];
  const commands = program.commands.map((c) => c.name());
  if (first !== undefined && !first.startsWith('-') && !commands.includes(first) && first !== 'help') {
    program.error(`error: unknown command '${first}'; the commands are ${commands.join(', ')}`, {
      code: 'commander.unknownCommand',
      exitCode: 2,
    });
  }
  await program.parseAsync(argv);
}

if (require.main === module) {
  // `npm start | tee run.log` and Ctrl-C: the terminal's SIGINT ends tee at once, and the next line written (the
  // "Cancelling…" itself) would end this process with EPIPE before the run is cancelled and checkpointed. What is
  // written to a reader that has gone is dropped instead.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') throw err;
    });
  }
  // exit explicitly: a finished command must not wait for a backend's idle threads
  main().then(() => process.exit(process.exitCode ?? 0), (err: unknown) => {
    const { message, exitCode } = explainFailure(err);
    // commander has printed its own usage errors already
    if (!(err instanceof Error && err.name === 'CommanderError')) console.error(message);
    process.exit(exitCode);
  });
}

