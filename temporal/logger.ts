// The SDK's logger, less one expected warning: a worker serves either workflows or activities on a
// queue, by design, so "No activities/workflows registered" says nothing a user needs to act on.
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { inspect } from 'node:util';
import { DefaultLogger, type LogEntry, type LogLevel } from '@temporalio/worker';

function expected(entry: LogEntry): boolean {
  return /^No (activities|workflows) registered/.test(entry.message);
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
    const meta = entry.meta === undefined ? '' : ` ${inspect(entry.meta, { depth: 4, breakLength: Infinity })}`;
    appendFileSync(file, `${time} [${entry.level}] ${entry.message}${meta}\n`);
    if (entry.level === 'WARN' || entry.level === 'ERROR') {
      const failure = (entry.meta as { error?: unknown } | undefined)?.error;
      const why = failure instanceof Error ? `: ${failure.message.split('\n')[0]}` : '';
      onWarning(`worker ${entry.level.toLowerCase()}: ${entry.message}${why} (details in ${file})`);
    }
  });
}
