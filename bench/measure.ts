// Timing and memory helpers shared by every benchmark: warm-up steps excluded, the median of the
// timed steps reported (robust to a neighbour's burst of CPU on a shared machine), and a time cap so
// a slow backend/shape pair stops early instead of stretching the whole run.

export interface TimedRun {
  /** Seconds per timed step, in the order they ran (warm-up excluded). */
  times: number[];
  medianS: number;
  minS: number;
  maxS: number;
  warmupS: number[];
  /** True when the cap stopped the run before the requested number of timed steps. */
  capped: boolean;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  // The mean of the middle two for an even count, as numpy.median; the torch script takes the upper one.
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

export interface TimeOptions {
  warmup: number;
  steps: number;
  /** Stop timing once this many seconds of timed steps have run (at least one timed step always runs). */
  capSeconds: number;
  /** Called after every step (warm-up included), e.g. to sample memory or count live tensors. */
  after?: (index: number, warmup: boolean) => void;
}

/** Counts steps as they are timed: warm-up first, then timed steps until `steps` or the cap; calls `after`. */
class StepClock {
  private readonly warmupS: number[] = [];
  private readonly times: number[] = [];
  private spent = 0;

  constructor(private readonly o: TimeOptions) {}

  /** True while another step should run. */
  get running(): boolean {
    if (this.warmupS.length < this.o.warmup) return true;
    return this.times.length < this.o.steps && (this.times.length === 0 || this.spent < this.o.capSeconds);
  }

  record(ms: number): void {
    const s = ms / 1000;
    if (this.warmupS.length < this.o.warmup) {
      this.warmupS.push(s);
      this.o.after?.(this.warmupS.length - 1, true);
    } else {
      this.times.push(s);
      this.spent += s;
      this.o.after?.(this.o.warmup + this.times.length - 1, false);
    }
  }

  result(): TimedRun {
    const times = this.times;
    return { times, medianS: median(times), minS: Math.min(...times), maxS: Math.max(...times), warmupS: this.warmupS, capped: times.length < this.o.steps };
  }
}

/** Runs `fn` warmup + up to `steps` times; each call must finish its work (read back a value) before returning. */
export function timeSteps(fn: () => void, o: TimeOptions): TimedRun {
  const clock = new StepClock(o);
  while (clock.running) {
    const t0 = performance.now();
    fn();
    clock.record(performance.now() - t0);
  }
  return clock.result();
}

/** Async variant for work that awaits (file reads, image decoding). */
export async function timeStepsAsync(fn: () => Promise<void>, o: TimeOptions): Promise<TimedRun> {
  const clock = new StepClock(o);
  while (clock.running) {
    const t0 = performance.now();
    await fn();
    clock.record(performance.now() - t0);
  }
  return clock.result();
}

export const MIB = 1024 * 1024;

/** Prefix of the one JSON line a child measurement (run-one.ts) prints for the parent. */
export const RESULT_MARKER = 'BENCH_RESULT ';

/**
 * Resident set size, sampled on demand (after each step: a training step is synchronous, so a timer
 * could not fire during one) and by a timer between steps. The process-wide peak comes from the
 * kernel (getrusage maxrss), which also catches peaks inside a step that no sample saw.
 */
export class RssSampler {
  private peak = 0;
  private timer: NodeJS.Timeout | null = null;

  start(intervalMs = 50): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
    return this;
  }

  sample(): number {
    const rss = process.memoryUsage().rss;
    if (rss > this.peak) this.peak = rss;
    return rss;
  }

  /** Highest sampled RSS in MiB since start (or the last reset). */
  peakMiB(): number {
    return round(this.peak / MIB, 1);
  }

  reset(): void {
    this.peak = 0;
    this.sample();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

/** Peak RSS of the whole process so far, from the kernel (Node reports maxRSS in KiB). */
export function processPeakRssMiB(): number {
  return round(process.resourceUsage().maxRSS / 1024, 1);
}

export function round(value: number, digits: number): number {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
