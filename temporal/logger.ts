// The SDK's logger, less one expected warning: a worker serves either workflows or activities on a
// queue, by design, so "No activities/workflows registered" says nothing a user needs to act on.
import { DefaultLogger, type LogLevel } from '@temporalio/worker';

export function pipelineLogger(level: LogLevel = 'WARN'): DefaultLogger {
  const plain = new DefaultLogger(level);
  return new DefaultLogger(level, (entry) => {
    if (/^No (activities|workflows) registered/.test(entry.message)) return;
    plain.log(entry.level, entry.message, entry.meta);
  });
}
