// The pipeline's worker process: registers the workflows and activities on their task queues and runs
// until SIGINT/SIGTERM, when the SDK lets running activities finish their current step (the training
// activity checkpoints on cancellation) before the process exits.
//
//   npm run worker                       # every role, against TEMPORAL_ADDRESS or the embedded local server
//   npm run worker -- --roles accel      # a GPU machine: training and embedding only
import { Command, Option } from 'commander';
import { Runtime } from '@temporalio/worker';
import { pipelineLogger } from './temporal/logger';
import { createActivities, workerActivityDeps } from './activities';
import { parseEnv } from './src/config/env';
import { ALL_ROLES, createWorkers, runWorkers, type WorkerRole } from './temporal/workers';
import { ACCEL_TASK_QUEUE, CPU_TASK_QUEUE, WORKFLOW_TASK_QUEUE } from './temporal/task-queues';
import { clientConnection, ensureSearchAttributes, resolveTemporal, workerConnection } from './temporal/connection';

export async function main(argv = process.argv): Promise<void> {
  const program = new Command('worker')
    .description('Run FaceNet pipeline workers')
    .addOption(new Option('--roles <roles>', 'comma-separated roles: workflows, cpu, accel').default(ALL_ROLES.join(',')))
    .option('--workflow-queue <name>', 'task queue of the workflows', WORKFLOW_TASK_QUEUE)
    .option('--cpu-queue <name>', 'task queue of CPU activities', CPU_TASK_QUEUE)
    .option('--accel-queue <name>', 'task queue of training/embedding activities', ACCEL_TASK_QUEUE)
    .option('--log-level <level>', 'SDK log level', 'INFO')
    .parse(argv);
  const opts = program.opts<{ roles: string; logLevel: string; workflowQueue: string; cpuQueue: string; accelQueue: string }>();
  const roles = opts.roles.split(',').map((r) => r.trim()) as WorkerRole[];
  const unknown = roles.filter((r) => !ALL_ROLES.includes(r));
  if (unknown.length) throw new Error(`Unknown role(s) ${unknown.join(', ')}; choose from ${ALL_ROLES.join(', ')}.`);

  const deps = workerActivityDeps(parseEnv());
  Runtime.install({ logger: pipelineLogger(opts.logLevel.toUpperCase() as 'INFO') });
  const target = await resolveTemporal();
  const client = await clientConnection(target);
  try {
    const added = await ensureSearchAttributes(client, target.namespace);
    if (added.length) console.log(`Registered search attributes: ${added.join(', ')}`);
  } finally {
    await client.close();
  }
  const connection = await workerConnection(target);
  try {
    const workers = await createWorkers({
      connection,
      namespace: target.namespace,
      roles,
      taskQueues: { workflows: opts.workflowQueue, cpu: opts.cpuQueue, accel: opts.accelQueue },
      activities: createActivities(deps),
    });
    // Before polling (loading TensorFlow blocks the event loop for most of a second) but after the workers
    // are created: loaded before the workflow bundle was built, it left every later epoch 5-10 ms slower
    // outside its steps (att-cpu, 4 runs each way; cause not found).
    if (roles.includes('accel')) await deps.sessions.backend.preload();
    console.log(`Worker (${roles.join(', ')}) polling ${target.address} namespace ${target.namespace}` + (target.uiUrl ? `; Web UI: ${target.uiUrl}` : ''));
    await runWorkers(workers);
  } finally {
    await connection.close();
    await target.embedded?.stop();
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
