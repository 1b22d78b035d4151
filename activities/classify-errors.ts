// Every error an activity throws is classified here, by class, so Temporal retries only what a retry
// can fix (the workflows' retry policies set no maximumAttempts; the caps are applied here):
//   BadInputError (ConfigError, DatasetError, RunConflictError, NonFiniteLossError ...) and
//   BackendUnavailableError     -> non-retryable at once, with the library's message.
//   StorageFullError, or a raw ENOSPC/EDQUOT/EROFS
//                               -> retried up to STORAGE_FULL_MAX_ATTEMPTS attempts (space may be
//                                  freed meanwhile), then non-retryable naming the file and free space.
//   TransientError, a retryable DatasetError, or a system error with a transient code (ECONNRESET ...)
//                               -> retried with the policy's back-off, without a cap.
//   anything else (a plain Error: a bug or an unforeseen condition)
//                               -> retried up to UNKNOWN_MAX_ATTEMPTS attempts (about 15 s of back-off
//                                  at 1 s x 2^n), then non-retryable, so a run never retries forever.
// Cancellation passes through untouched.
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { FaceNetError, StorageFullError, isStorageFullCode } from '../src/errors';
import { BackendUnavailableError } from '../src/backend';
import { storageFullError } from '../src/util/durable-fs';

export const STORAGE_FULL_MAX_ATTEMPTS = 3;
export const UNKNOWN_MAX_ATTEMPTS = 5;

/** System error codes that a retry after a back-off can clear. */
const TRANSIENT_CODES = new Set(['EAGAIN', 'EBUSY', 'EINTR', 'EMFILE', 'ENFILE', 'ETIMEDOUT', 'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH']);

function nonRetryable(err: Error, message = err.message): ApplicationFailure {
  return ApplicationFailure.create({ message, type: err.name, nonRetryable: true, cause: err });
}

/** The class of `err` decides; `attempt` (1-based, from the activity's info) applies the caps. */
export function classifyError(err: unknown, attempt: number): unknown {
  if (!(err instanceof Error) || err instanceof ApplicationFailure || err instanceof CancelledFailure) return err;
  if (err.name === 'AbortError') return err;
  if (err instanceof FaceNetError) {
    switch (err.kind) {
      case 'bad-input':
        return nonRetryable(err);
      case 'storage-full':
        return attempt >= STORAGE_FULL_MAX_ATTEMPTS ? nonRetryable(err, `${err.message} (gave up after ${attempt} attempts)`) : err;
      case 'transient':
        return err;
    }
  }
  if (err instanceof BackendUnavailableError) return nonRetryable(err);
  if (isStorageFullCode(err)) {
    return attempt >= STORAGE_FULL_MAX_ATTEMPTS ? nonRetryable(err, `${err.message} (gave up after ${attempt} attempts)`) : err;
  }
  const code = (err as NodeJS.ErrnoException).code;
  if (code !== undefined && TRANSIENT_CODES.has(code)) return err;
  if (attempt >= UNKNOWN_MAX_ATTEMPTS) {
    return nonRetryable(err, `${err.message} (an unclassified error; gave up after ${attempt} attempts)`);
  }
  return err;
}

/** A raw ENOSPC/EDQUOT/EROFS that names a path becomes a StorageFullError with that filesystem's free space. */
async function explain(err: unknown): Promise<unknown> {
  if (err instanceof StorageFullError || !isStorageFullCode(err) || typeof err.path !== 'string') return err;
  return storageFullError(err, err.path);
}

function currentAttempt(): number {
  return Context.current().info.attempt;
}

/** Wraps every activity so its errors are classified in one place. */
export function withErrorClassification<T extends Record<string, (...args: never[]) => Promise<unknown>>>(
  activities: T,
  attempt: () => number = currentAttempt,
): T {
  const wrapped: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(activities)) {
    wrapped[name] = async (...args: never[]) => {
      try {
        return await fn(...args);
      } catch (err) {
        throw classifyError(await explain(err), attempt());
      }
    };
  }
  return wrapped as T;
}
