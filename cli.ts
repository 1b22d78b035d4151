// The pipeline's command line. With no TEMPORAL_ADDRESS it runs everything locally on the embedded
// default: a Temporal dev server it starts itself (Web UI on http://localhost:8233) and an in-process worker.
//
//   npm start -- --config configs/att-cpu.yml          train (the main job), with a progress bar
//   npm run facenet -- status <workflow-id>            progress of a run
//   npm run facenet -- schedule --config ... --every 7d --champion runs/champion-att
//   npm run facenet -- sweep --config ... --trial optimizer.learningRate=0.001 --trial optimizer.learningRate=0.0003
import { Command } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { Client, WorkflowFailedError, WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { Runtime } from '@temporalio/worker';
import { pipelineLogger } from './temporal/logger';
import { createActivities, workerActivityDeps } from './activities';
import { parseEnv } from './src/config/env';
import type { Progress, RetrainInput, SweepInput, TrainInput, TrainResult } from './activities/types';
import { ALL_ROLES, createWorkers, runWorkers } from './temporal/workers';
import { clientConnection, ensureSearchAttributes, resolveTemporal, workerConnection, type TemporalTarget } from './temporal/connection';
import { WORKFLOW_TASK_QUEUE } from './temporal/task-queues';
import { loadConfig } from './src/config/load';
import { registerModelCommands } from './cli/model-commands';


function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

async function connect(): Promise<{ target: TemporalTarget; client: Client; close(): Promise<void> }> {
  const target = await resolveTemporal();
  const connection = await clientConnection(target);
  await ensureSearchAttributes(connection, target.namespace);
  const client = new Client({ connection, namespace: target.namespace });
  return {
    target,
    client,
    async close() {
      await connection.close();
    },
  };
}

/** Polls the progress query and the training activity's heartbeat into a terminal progress bar. */
async function showProgress(handle: WorkflowHandle, until: Promise<unknown>): Promise<void> {
  const bar = new SingleBar(
    { format: '{phase} |{bar}| epoch {epoch}/{total} step {step} | loss {loss} | best acc {best} | ETA {etaText}', hideCursor: true },
    Presets.shades_classic,
  );
  // Without a terminal (CI, a log file) one line per change of phase or epoch instead of a bar.
  const tty = Boolean(process.stdout.isTTY);
  let lastLine = '';
  let started = false;
  let done = false;
  void until.finally(() => (done = true));
  while (!done) {
    try {
      const p = await handle.query<Progress>('progress');
      const desc = await handle.describe();
      const beat = desc.raw.pendingActivities?.find((a) => a.activityType?.name === 'trainEpoch')?.heartbeatDetails?.payloads?.[0]?.data;
      const details = beat ? (JSON.parse(Buffer.from(beat).toString()) as { step?: number; stepsPerEpoch?: number }) : {};
      const payload = {
        phase: p.phase.padEnd(14),
        epoch: p.epoch,
        step: details.step !== undefined ? `${details.step}/${details.stepsPerEpoch}` : '-',
        loss: p.lastLoss?.toFixed(4) ?? '-',
        best: p.bestAccuracy?.toFixed(4) ?? '-',
        etaText: p.etaSeconds === null ? '-' : `${Math.round(p.etaSeconds / 60)} min`,
      };
      if (!tty) {
        const line = `${p.phase} epoch ${p.epoch}/${p.totalEpochs} loss ${payload.loss} best acc ${payload.best} ETA ${payload.etaText}`;
        if (line !== lastLine) console.log(line);
        lastLine = line;
      } else if (!started && p.totalEpochs > 0) {
        bar.start(p.totalEpochs, p.epoch, payload);
        started = true;
      } else if (started) bar.update(p.epoch, payload);
    } catch {
      // The workflow may not have run its first task yet; try again.
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  if (started) bar.stop();
}

async function runCommand(opts: { config: string; set: string[]; runId?: string; detach?: boolean }): Promise<void> {
  loadConfig(opts.config, opts.set); // a config error is reported here, before anything starts
  // Ctrl-C cancels the run (after a checkpoint) instead of killing the worker under it.
  Runtime.install({ logger: pipelineLogger('WARN'), shutdownSignals: [] });
  const { target, client, close } = await connect();
  const workflowId = opts.runId ?? `${opts.config.replace(/^.*\//, '').replace(/\.ya?ml$/, '')}-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  const input: TrainInput = { configPath: opts.config, overrides: opts.set, runId: workflowId };
  console.log(`Temporal ${target.address}${target.embedded ? ' (embedded dev server, state in .temporal/dev.db)' : ''}; Web UI: ${target.uiUrl ?? 'n/a'}`);
  const handle = await client.workflow.start('trainFaceNet', { taskQueue: WORKFLOW_TASK_QUEUE, workflowId, args: [input] });
  console.log(`Started workflow ${workflowId}` + (target.uiUrl ? `: ${target.uiUrl}/namespaces/${target.namespace}/workflows/${workflowId}` : ''));
  if (opts.detach) {
    await close();
    return;
  }
  const nativeConnection = await workerConnection(target);
  try {
    const deps = workerActivityDeps(parseEnv());
    const workers = await createWorkers({ connection: nativeConnection, namespace: target.namespace, roles: ALL_ROLES, activities: createActivities(deps) });
    await deps.sessions.backend.preload(); // after createWorkers, as in worker.ts
    const result = handle.result() as Promise<TrainResult>;
    const resume = `npm start -- --config ${opts.config} --run-id ${workflowId}`;
    let interrupted = false;
    process.once('SIGINT', () => {
      interrupted = true;
      console.log(`\nCancelling: training stops after a checkpoint. Resume with: ${resume}`);
      void handle.cancel();
    });
    const finished = runWorkers(workers, result);
    await showProgress(handle, finished.catch(() => undefined));
    let summary: TrainResult;
    try {
      summary = await result;
    } catch (err) {
      // The cancellation the user asked for is not an error; 130 is the shell's code for an interrupted command.
      if (!interrupted || !(err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure)) throw err;
      console.log(`Cancelled; the latest checkpoint is kept. Resume with: ${resume}`);
      process.exitCode = 130;
      return;
    }
    console.log(JSON.stringify(summary, null, 2));
    if (summary.reportPath) console.log(`Report: ${summary.reportPath}`);
  } finally {
    await nativeConnection.close();
    await close();
    await target.embedded?.stop();
  }
}

async function statusCommand(workflowId: string): Promise<void> {
  const { client, close } = await connect();
  try {
    const handle = client.workflow.getHandle(workflowId);
    const desc = await handle.describe();
    const progress = await handle.query<Progress>('progress').catch(() => null);
    console.log(JSON.stringify({ status: desc.status.name, progress, memo: desc.memo, searchAttributes: desc.typedSearchAttributes }, null, 2));
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new Error(`No workflow ${workflowId}; list runs with: temporal workflow list --query "WorkflowType='trainFaceNet'"`);
    throw err;
  } finally {
    await close();
  }
}

async function scheduleCommand(opts: { config: string; set: string[]; every: string; champion: string; id: string; warmStart?: boolean }): Promise<void> {
  loadConfig(opts.config, opts.set);
  const { client, close } = await connect();
  try {
    const input: RetrainInput = { configPath: opts.config, overrides: opts.set, championDir: opts.champion, warmStart: Boolean(opts.warmStart) };
    await client.schedule.create({
      scheduleId: opts.id,
      spec: { intervals: [{ every: opts.every as '1d' }] },
      action: { type: 'startWorkflow', workflowType: 'retrainFaceNet', taskQueue: WORKFLOW_TASK_QUEUE, args: [input] },
    });
    console.log(`Schedule ${opts.id}: retrainFaceNet every ${opts.every}. Trigger now with: temporal schedule trigger --schedule-id ${opts.id}`);
    console.log('Runs need a worker: npm run worker');
  } finally {
    await close();
  }
}

async function sweepCommand(opts: { config: string; set: string[]; trial: string[]; parallel: string; id?: string }): Promise<void> {
  loadConfig(opts.config, opts.set);
  if (opts.trial.length === 0) throw new Error('Give at least one --trial, e.g. --trial "optimizer.learningRate=0.001;loss.margin=0.2"');
  const { client, close } = await connect();
  try {
    const input: SweepInput = {
      configPath: opts.config,
      overrides: opts.set,
      trials: opts.trial.map((t) => t.split(';').map((s) => s.trim()).filter(Boolean)),
      parallelism: Number(opts.parallel),
    };
    const workflowId = opts.id ?? `sweep-${Date.now()}`;
    await client.workflow.start('sweepFaceNet', { taskQueue: WORKFLOW_TASK_QUEUE, workflowId, args: [input] });
    console.log(`Started sweep ${workflowId} with ${input.trials.length} trials (${input.parallelism} at a time). Runs need a worker: npm run worker`);
  } finally {
    await close();
  }
}

export async function main(argv = process.argv): Promise<void> {
  const program = new Command('facenet').description('FaceNet training as durable Temporal workflows');
  program
    .command('run', { isDefault: true })
    .description('train and evaluate a model (starts a local Temporal server and worker when TEMPORAL_ADDRESS is not set)')
    .option('-c, --config <path>', 'run config (YAML)', 'configs/att-cpu.yml')
    .option('-s, --set <path=value>', 'override a config field, e.g. training.epochs=5 (repeatable)', collect, [])
    .option('--run-id <id>', 'workflow id and run directory name (reuse one to resume a stopped run)')
    .option('--detach', 'only start the workflow; a separate worker (npm run worker) runs it')
    .action(runCommand);
  program.command('status <workflowId>').description('progress and state of a run').action(statusCommand);
  program
    .command('schedule')
    .description('create a Temporal Schedule that retrains and promotes a better champion')
    .requiredOption('-c, --config <path>', 'run config (YAML)')
    .option('-s, --set <path=value>', 'config override (repeatable)', collect, [])
    .option('--every <interval>', 'how often, e.g. 1d, 7d, 12h', '7d')
    .option('--champion <dir>', 'where the champion model is kept', 'runs/champion')
    .option('--id <scheduleId>', 'schedule id', 'facenet-retrain')
    .option('--warm-start', 'start challengers from the champion weights')
    .action(scheduleCommand);
  program
    .command('sweep')
    .description('start a hyper-parameter sweep of child training runs')
    .requiredOption('-c, --config <path>', 'run config (YAML)')
    .option('-s, --set <path=value>', 'override for every trial (repeatable)', collect, [])
    .option('-t, --trial <overrides>', 'one trial: overrides separated by ";" (repeatable)', collect, [])
    .option('-p, --parallel <n>', 'trials at once', '2')
    .option('--id <workflowId>', 'sweep workflow id')
    .action(sweepCommand);
  registerModelCommands(program);
  await program.parseAsync(argv);
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
