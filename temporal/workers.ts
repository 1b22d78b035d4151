// Builds the pipeline's workers. One process may serve every role (the local default) or one role each
// on different machines: workflows, CPU activities (data, reports), accelerator activities (training,
// embedding; one at a time per worker, since one training run already uses the whole device).
import { NativeConnection, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { ACCEL_TASK_QUEUE, CPU_TASK_QUEUE, WORKFLOW_TASK_QUEUE } from './task-queues';

export type WorkerRole = 'workflows' | 'cpu' | 'accel';
export const ALL_ROLES: readonly WorkerRole[] = ['workflows', 'cpu', 'accel'];

export interface WorkerSetup {
  connection: NativeConnection;
  namespace: string;
  roles: readonly WorkerRole[];
  activities: object;
  /** A prebuilt bundle (tests reuse one); default: bundle workflows/index.ts at start. */
  workflowBundle?: WorkflowBundleOption;
  taskQueues?: { workflows?: string; cpu?: string; accel?: string };
}

export async function createWorkers(setup: WorkerSetup): Promise<Worker[]> {
  const queues = {
    workflows: setup.taskQueues?.workflows ?? WORKFLOW_TASK_QUEUE,
    cpu: setup.taskQueues?.cpu ?? CPU_TASK_QUEUE,
    accel: setup.taskQueues?.accel ?? ACCEL_TASK_QUEUE,
  };
  // A cancellation (Ctrl-C, `temporal workflow cancel`) reaches a running activity only in the answer to one
  // of its heartbeats, which the SDK throttles to 80% of the heartbeat timeout: up to 24 s with training's
  // 30 s. One heartbeat every 2 s at most is a negligible load and makes a cancel take effect in seconds.
  const base = { connection: setup.connection, namespace: setup.namespace, maxHeartbeatThrottleInterval: '2s' as const };
  const workers: Worker[] = [];
  for (const role of setup.roles) {
    if (role === 'workflows') {
      workers.push(
        await Worker.create({
          ...base,
          taskQueue: queues.workflows,
          ...(setup.workflowBundle
            ? { workflowBundle: setup.workflowBundle }
            : { workflowsPath: require.resolve('../workflows') }),
        }),
      );
    } else if (role === 'cpu') {
      workers.push(await Worker.create({ ...base, taskQueue: queues.cpu, activities: setup.activities, maxConcurrentActivityTaskExecutions: 2 }));
    } else {
      workers.push(await Worker.create({ ...base, taskQueue: queues.accel, activities: setup.activities, maxConcurrentActivityTaskExecutions: 1 }));
    }
  }
  return workers;
}

/** Runs the workers until SIGINT/SIGTERM (the SDK's default shutdown signals) or until `until` settles. */
export async function runWorkers<T>(workers: Worker[], until?: Promise<T>): Promise<T | undefined> {
  if (until) {
    // runUntil on each worker: all shut down once `until` settles.
    const results = await Promise.all(workers.map((w) => w.runUntil(until)));
    return results[0];
  }
  await Promise.all(workers.map((w) => w.run()));
  return undefined;
}
