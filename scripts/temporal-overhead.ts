// What orchestration adds to each training epoch, from a finished run's workflow history:
// for each training activity (trainEpochs), the wall time from the completion of the activity before it
// (training or evaluation) to its own completion, minus the training seconds it measured itself (its
// steps), per epoch. The difference is scheduling, polling, heartbeats, session reuse and the checkpoint
// writes. Evaluation activities (which load the epoch's checkpoint) are timed apart, start to completion.
// Retried activities are left out: part of their epochs was read back, not trained.
//
//   npx tsx scripts/temporal-overhead.ts <workflowId> [--out results/temporal-overhead.json]
import { Command } from 'commander';
import { writeJsonAtomic } from '../src/util/durable-fs';
import { Client } from '@temporalio/client';
import { clientConnection, resolveTemporal } from '../temporal/connection';

const TRAINING_ACTIVITY = 'trainEpochs';

/** One training activity: one epoch, or a group of them. */
interface ActivityTiming {
  firstEpoch: number;
  lastEpoch: number;
  epochs: number;
  wallSeconds: number;
  trainSeconds: number;
  overheadSeconds: number;
  /** From the previous completion to this activity's start: workflow task, scheduling, polling. */
  schedulingSeconds: number;
  /** Inside the activity but not training steps: session check, checkpoint write, metrics log. */
  inActivitySeconds: number;
}

function seconds(t: { seconds?: unknown; nanos?: number | null } | null | undefined): number {
  return Number(t?.seconds ?? 0) + (t?.nanos ?? 0) / 1e9;
}

/** Every run of the workflow id (continue-as-new splits a long run's history), oldest first. */
async function runIds(client: Client, workflowId: string): Promise<string[]> {
  const runs: Array<{ runId: string; start: number }> = [];
  for await (const wf of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) runs.push({ runId: wf.runId, start: wf.startTime.getTime() });
  return runs.sort((a, b) => a.start - b.start).map((r) => r.runId);
}

type EpochResult = Record<string, number>;
/** A completed activity's result: trainEpochs gives { epochs: [...] }, evaluate one EpochResult. */
type ActivityResult = EpochResult | { epochs: EpochResult[] };

/** One evaluation activity: the epoch it scored and how long it ran (start to completion). */
interface EvaluationTiming {
  epoch: number;
  seconds: number;
}

export async function measureOverhead(client: Client, workflowId: string): Promise<{ training: ActivityTiming[]; evaluations: EvaluationTiming[] }> {
  const out: ActivityTiming[] = [];
  const evaluations: EvaluationTiming[] = [];
  for (const runId of await runIds(client, workflowId)) {
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    const scheduled = new Map<string, string>(); // scheduled event id -> activity type
    const started = new Map<string, { at: number; attempt: number }>(); // scheduled event id -> start
    const done: Array<{ type: string; startedAt: number; attempt: number; at: number; result: ActivityResult | null }> = [];
    for (const e of history.events ?? []) {
      const s = e.activityTaskScheduledEventAttributes;
      if (s) scheduled.set(String(e.eventId), s.activityType?.name ?? '');
      const st = e.activityTaskStartedEventAttributes;
      if (st) started.set(String(st.scheduledEventId), { at: seconds(e.eventTime), attempt: st.attempt ?? 1 });
      const c = e.activityTaskCompletedEventAttributes;
      if (c) {
        const data = c.result?.payloads?.[0]?.data;
        done.push({
          type: scheduled.get(String(c.scheduledEventId)) ?? '',
          startedAt: started.get(String(c.scheduledEventId))?.at ?? NaN,
          attempt: started.get(String(c.scheduledEventId))?.attempt ?? 1,
          at: seconds(e.eventTime),
          result: data ? (JSON.parse(Buffer.from(data).toString()) as ActivityResult) : null,
        });
      }
    }
    for (const d of done) if (d.type === 'evaluate' && d.result && !('epochs' in d.result)) evaluations.push({ epoch: d.result['epoch']!, seconds: d.at - d.startedAt });
    for (let i = 1; i < done.length; i++) {
      const prev = done[i - 1]!;
      const cur = done[i]!;
      if (cur.type !== TRAINING_ACTIVITY || !cur.result || !('epochs' in cur.result) || cur.attempt > 1) continue;
      const epochs = (cur.result as { epochs: EpochResult[] }).epochs;
      const wall = cur.at - prev.at;
      const train = epochs.reduce((sum, e) => sum + e['seconds']!, 0);
      out.push({
        firstEpoch: epochs[0]!['epoch']!,
        lastEpoch: epochs[epochs.length - 1]!['epoch']!,
        epochs: epochs.length,
        wallSeconds: wall,
        trainSeconds: train,
        overheadSeconds: wall - train,
        schedulingSeconds: cur.startedAt - prev.at,
        inActivitySeconds: cur.at - cur.startedAt - train,
      });
    }
  }
  return { training: out, evaluations };
}

function summarize(activities: ActivityTiming[]) {
  const sum = (k: keyof ActivityTiming) => activities.reduce((s, a) => s + a[k], 0);
  const epochs = sum('epochs');
  return {
    activitiesCompared: activities.length,
    epochsCompared: epochs,
    meanEpochWallSeconds: sum('wallSeconds') / epochs,
    meanTrainSeconds: sum('trainSeconds') / epochs,
    meanOverheadSeconds: sum('overheadSeconds') / epochs,
    meanSchedulingSeconds: sum('schedulingSeconds') / epochs,
    meanInActivitySeconds: sum('inActivitySeconds') / epochs,
    overheadFraction: sum('overheadSeconds') / sum('wallSeconds'),
  };
}

async function main(): Promise<void> {
  const program = new Command('temporal-overhead').argument('<workflowId>').option('--out <file>').parse();
  const [workflowId] = program.args as [string];
  const { out } = program.opts<{ out?: string }>();
  const target = await resolveTemporal();
  const connection = await clientConnection(target);
  try {
    const { training: activities, evaluations } = await measureOverhead(new Client({ connection, namespace: target.namespace }), workflowId);
    if (activities.length === 0) throw new Error(`${workflowId} has no training activity that follows another activity.`);
    const summary = {
      workflowId,
      ...summarize(activities),
      // The first training activity also builds the model and loads the dataset cache (0.2-0.35 s for att-cpu;
      // the worker loads the backend before it polls), which any trainer does once; later ones reuse that session.
      afterSessionStart: activities.length > 1 ? summarize(activities.slice(1)) : null,
      evaluationMeanSeconds: evaluations.reduce((s, e) => s + e.seconds, 0) / Math.max(evaluations.length, 1),
      evaluations,
      activities,
    };
    console.log(JSON.stringify({ ...summary, activities: undefined }, null, 2));
    if (out) writeJsonAtomic(out, summary);
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
