// Bad input (an invalid config, a missing dataset, a NaN loss) will fail the same way on every retry,
// so it becomes a non-retryable ApplicationFailure carrying the library's clear message; anything
// else (I/O, network, a killed process) stays retryable.
import { ApplicationFailure } from '@temporalio/common';

const NON_RETRYABLE = new Set([
  'ConfigError',
  'RunConflictError',
  'NonFiniteLossError',
  'BackendUnavailableError',
  'CheckpointError',
  'ModelOptionsError',
]);

function isNonRetryable(err: Error): boolean {
  if (err.name === 'DatasetError') return !(err as Error & { retryable?: boolean }).retryable;
  return NON_RETRYABLE.has(err.name);
}

export function classifyError(err: unknown): unknown {
  if (!(err instanceof Error) || err instanceof ApplicationFailure) return err;
  if (err.name === 'CancelledFailure' || err.name === 'AbortError') return err;
  if (isNonRetryable(err)) {
    return ApplicationFailure.create({ message: err.message, type: err.name, nonRetryable: true, cause: err });
  }
  return err;
}

/** Wraps every activity so its errors are classified in one place. */
export function withErrorClassification<T extends Record<string, (...args: never[]) => Promise<unknown>>>(activities: T): T {
  const wrapped: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(activities)) {
    wrapped[name] = async (...args: never[]) => {
      try {
        return await fn(...args);
      } catch (err) {
        throw classifyError(err);
      }
    };
  }
  return wrapped as T;
}
