// The SDK's logger, less one expected warning: a worker serves either workflows or activities on a
// queue, by design, so "No activities/workflows registered" says nothing a user needs to act on.
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { inspect } from 'node:util';
import { ApplicationFailure } from '@temporalio/common';
import { DefaultLogger, type LogEntry, type LogLevel } from '@temporalio/worker';

function expected(entry: LogEntry): boolean {
  return /^No (activities|workflows) registered/.test(entry.message);
}

/**
 * Worth the log file but not the terminal: the SDK core's notes that a query (the CLI's progress poll) expired
 * before the worker answered it, or that a workflow task timed out before the worker completed it. A worker busy
 * with a long synchronous step (embedding a large evaluation set) causes them now and then; the next poll
 * answers, the server retries the task, and the run goes on.
 */
function fileOnly(entry: LogEntry): boolean {
  return /^(Query not found when attempting to respond to it|Task not found when completing)/.test(entry.message);
}

export function pipelineLogger(level: LogLevel = 'WARN'): DefaultLogger {
  const plain = new DefaultLogger(level);
  return new DefaultLogger(level, (entry) => {
    if (expected(entry)) return;
    plain.log(entry.level, entry.message, entry.meta);
  });
}

/**
 * The CLI's in-process worker: every entry (from `level` up) is appended to `file`, so nothing the SDK says
 * breaks the progress bars; warnings and errors are also passed, as one short line, to `onWarning`.
 */
export function fileLogger(file: string, onWarning: (line: string) => void, level: LogLevel = 'INFO'): DefaultLogger {
  mkdirSync(dirname(file), { recursive: true });
  return new DefaultLogger(level, (entry) => {
    if (expected(entry)) return;
    const time = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
    const details = entry.meta === undefined ? '' : ` ${inspect(entry.meta, { depth: 4, breakLength: Infinity })}`;
    appendFileSync(file, `${time} [${entry.level}] ${entry.message}${details}\n`);
    if ((entry.level !== 'WARN' && entry.level !== 'ERROR') || fileOnly(entry)) return;
    // A failed workflow, or an activity failure that will not be retried, reaches the command as the run's
    // failure (printed with its cause): only what it would not see is worth a line here.
    if (entry.message === 'Workflow failed') return;
    const meta = (entry.meta ?? {}) as { error?: unknown; activityType?: string; attempt?: number };
    const failure = meta.error;
    if (entry.message === 'Activity failed') {
      if (failure instanceof ApplicationFailure && failure.nonRetryable) return;
      const why = failure instanceof Error ? failure.message.split('\n')[0] : String(failure);
      onWarning(`worker: activity ${meta.activityType ?? ''} failed (attempt ${meta.attempt ?? '?'}; retrying): ${why} (details in ${file})`);
      return;
    }
    const why = failure instanceof Error ? `: ${failure.message.split('\n')[0]}` : '';
    onWarning(`worker ${entry.level.toLowerCase()}: ${entry.message}${why} (details in ${file})`);
  });
}
