// Following runs in a terminal. The numbers come from two places: the workflow's `progress` query (phase,
// epoch, best accuracy) and the heartbeat the running activity last sent (for training, `trainEpochs`:
// {epoch, step, stepsPerEpoch, loss, imagesPerSecond, epochEtaSeconds, ...}), read from the workflow's
// pending activities. On a terminal each run (a sweep: each trial) has one bar line, redrawn in place, and
// anything else printed meanwhile (console output of the in-process worker's activities, the worker's
// warnings) goes above the bars; without a terminal (CI, a log file) one plain line per change.
import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import type { WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { Progress } from '../activities/types';
import { formatDuration } from '../src/util/duration';

/** The training activity's heartbeat details (the first one is {phase: 'starting', epoch, lastEpoch}). */
export interface TrainHeartbeat {
  phase?: string;
  epoch?: number;
  firstEpoch?: number;
  lastEpoch?: number;
  step?: number;
  stepsPerEpoch?: number;
  loss?: number;
  imagesPerSecond?: number;
  epochEtaSeconds?: number;
}

export const TRAIN_ACTIVITY = 'trainEpochs';

export interface RunSnapshot {
  progress: Progress | null;
  /** The pending activity and its last heartbeat details, if one runs. */
  activity: { name: string; details: Record<string, unknown>; waiting?: boolean } | null;
}

/** Reads the progress query and the running activity's heartbeat; a query that cannot be answered yet is null. */
export async function snapshot(handle: WorkflowHandle): Promise<RunSnapshot> {
  const [progress, desc] = await Promise.all([handle.query<Progress>('progress').catch(() => null), handle.describe()]);
  const pending = desc.raw.pendingActivities ?? [];
  const running = pending.find((a) => a.activityType?.name === TRAIN_ACTIVITY) ?? pending[0];
  let activity: RunSnapshot['activity'] = null;
  if (running?.activityType?.name) {
    const data = running.heartbeatDetails?.payloads?.[0]?.data;
    let details: Record<string, unknown> = {};
    try {
      if (data) details = JSON.parse(Buffer.from(data).toString()) as Record<string, unknown>;
    } catch {
      // not JSON: show the activity without details
    }
    // Scheduled, not started: no worker has taken it yet (the training worker runs one activity at a time).
    const waiting = running.state === temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED;
    activity = { name: running.activityType.name, details, waiting };
  }
  return { progress, activity };
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** Remembers each run's seconds per epoch (from heartbeats) to estimate the time left for the whole run. */
export class EtaEstimator {
  private epochSeconds: number | undefined;

  /** Seconds left in the run, from the heartbeat when there is one, else the workflow's own estimate. */
  remaining(p: Progress | null, beat: TrainHeartbeat | null): number | undefined {
    if (beat && beat.step !== undefined && beat.stepsPerEpoch && beat.epochEtaSeconds !== undefined && beat.epoch !== undefined) {
      const left = beat.stepsPerEpoch - beat.step;
      if (left > 0) this.epochSeconds = (beat.epochEtaSeconds / left) * beat.stepsPerEpoch;
      const later = p ? Math.max(0, p.totalEpochs - beat.epoch) : 0;
      if (this.epochSeconds !== undefined) return beat.epochEtaSeconds + later * this.epochSeconds;
    }
    return p?.etaSeconds ?? undefined;
  }
}

export interface RunLine {
  /** 0..1 of the run's training. */
  fraction: number;
  text: string;
}

/** One status line: epoch, step/steps, loss, img/s, ETA while training; the phase otherwise. */
export function runLine(s: RunSnapshot, eta: EtaEstimator): RunLine {
  const p = s.progress;
  if (s.activity?.waiting) {
    const total = p?.totalEpochs ?? 0;
    return { fraction: total ? (p?.epoch ?? 0) / total : 0, text: `${p?.phase ?? 'starting'}: ${s.activity.name} waits for a free worker` };
  }
  const beat = s.activity?.name === TRAIN_ACTIVITY ? (s.activity.details as TrainHeartbeat) : null;
  const best = p?.bestAccuracy != null ? ` | best acc ${p.bestAccuracy.toFixed(4)} @ ${p.bestEpoch}` : '';
  const total = p?.totalEpochs ?? 0;
  if (p?.phase === 'stopping') {
    // Cancelled: the training activity saves a checkpoint where it is before it gives up.
    const step = beat?.epoch !== undefined && beat.step !== undefined && beat.stepsPerEpoch ? `epoch ${beat.epoch}/${total}, step ${beat.step}/${beat.stepsPerEpoch}` : null;
    return { fraction: total ? Math.min(1, p.epoch / total) : 0, text: step ? `stopping: saving a checkpoint (${step})${best}` : `stopping (epoch ${p.epoch}/${total})${best}` };
  }
  if (beat && beat.epoch !== undefined && p?.phase !== 'evaluating') {
    const steps = beat.stepsPerEpoch;
    const step = beat.step;
    const left = eta.remaining(p, beat);
    const parts = [
      `epoch ${beat.epoch}/${total || '?'}`,
      step !== undefined && steps ? `step ${step}/${steps}` : 'starting',
      num(beat.loss) !== undefined ? `loss ${(beat.loss as number).toFixed(4)}` : null,
      num(beat.imagesPerSecond) !== undefined ? `${(beat.imagesPerSecond as number).toFixed(1)} img/s` : null,
      left !== undefined ? `ETA ${left < 1 ? '< 1 s' : formatDuration(left)}` : null,
    ].filter(Boolean);
    const done = (beat.epoch - 1 + (step !== undefined && steps ? step / steps : 0)) / Math.max(total, 1);
    return { fraction: Math.min(1, Math.max(0, done)), text: parts.join(' | ') + best };
  }
  const phase = p?.phase ?? 'starting';
  const detail = s.activity ? activityDetail(s.activity) : '';
  const epoch = p && total ? ` (epoch ${p.epoch}/${total})` : '';
  return { fraction: total ? (p?.epoch ?? 0) / total : 0, text: `${phase}${epoch}${detail ? `: ${detail}` : ''}${best}` };
}

function activityDetail(a: { name: string; details: Record<string, unknown> }): string {
  const d = a.details;
  const phase = typeof d['phase'] === 'string' && d['phase'] !== 'starting' ? d['phase'] : '';
  const done = num(d['done']) ?? num(d['processed']);
  const total = num(d['total']);
  return [a.name, phase, done !== undefined && total !== undefined ? `${done}/${total}` : ''].filter(Boolean).join(' ');
}

/** The terminal while runs are followed: bar lines at the bottom, everything else printed above them. */
export class ProgressView {
  private readonly tty: boolean;
  private readonly bars = new Map<string, SingleBar>();
  private readonly lastPlain = new Map<string, { headline: string; text: string; at: number }>();
  private multi: MultiBar | null = null;
  private restoreConsole: (() => void) | null = null;

  constructor(private readonly out: NodeJS.WriteStream = process.stdout) {
    this.tty = Boolean(out.isTTY);
  }

  /** Routes console output through log() until close(). */
  start(): void {
    const methods = ['log', 'info', 'warn', 'error'] as const;
    const saved = methods.map((m) => console[m]);
    for (const m of methods) console[m] = (...args: unknown[]) => this.log(args.map((a) => (typeof a === 'string' ? a : String(a))).join(' '));
    this.restoreConsole = () => methods.forEach((m, i) => (console[m] = saved[i] as typeof console.log));
  }

  /** A line above the bars (or a plain line without a terminal). */
  log(line: string): void {
    const text = line.replace(/\n$/, '');
    if (!this.multi) {
      this.out.write(`${text}\n`);
      return;
    }
    // The bars are redrawn by moving the cursor up one row per bar: a line the terminal wraps would be
    // partly overwritten, so long lines are broken here. The rows land where bars were drawn, and the bars'
    // redraw clears only the first: each row clears the rest of its own (ESC[K).
    const width = Math.max(20, (this.out.columns ?? 80) - 1);
    const rows = text.split('\n').flatMap((row) => row.match(new RegExp(`.{1,${width}}`, 'g')) ?? ['']);
    this.multi.log(rows.map((r) => `${r}\x1b[K\n`).join(''));
  }

  update(key: string, line: RunLine): void {
    if (!this.tty) {
      // A log, not a screen: a line when the epoch or phase changes, else at most every 10 s.
      const headline = line.text.split(' | ')[0] ?? '';
      const last = this.lastPlain.get(key);
      if (!last || (last.headline !== headline && line.text !== last.text) || (Date.now() - last.at >= 10_000 && line.text !== last.text)) {
        this.out.write(`${key}: ${line.text}\n`);
        this.lastPlain.set(key, { headline, text: line.text, at: Date.now() });
      }
      return;
    }
    this.multi ??= new MultiBar(
      {
        format: '{key} |{bar}| {text}',
        hideCursor: true,
        clearOnComplete: false,
        stopOnComplete: false,
        barsize: 20,
        linewrap: false,
        stream: this.out,
        // A logged line moves the bars down; without this an unchanged bar is not drawn again and its row stays empty.
        forceRedraw: true,
      },
      Presets.shades_classic,
    );
    const value = Math.round(line.fraction * 1000);
    const bar = this.bars.get(key);
    if (bar) bar.update(value, { key, text: line.text });
    else this.bars.set(key, this.multi.create(1000, value, { key, text: line.text }));
  }

  /** Takes a run's bar off the screen (a run that ended, whose outcome is logged instead). */
  remove(key: string): void {
    const bar = this.bars.get(key);
    if (bar) this.multi?.remove(bar);
    this.bars.delete(key);
    this.lastPlain.delete(key);
  }

  /** Stops the bars (their last state stays on screen) and gives the console back. */
  close(): void {
    this.multi?.update(); // prints the lines logged since the last redraw
    this.multi?.stop();
    this.multi = null;
    this.bars.clear();
    this.restoreConsole?.();
    this.restoreConsole = null;
  }
}
