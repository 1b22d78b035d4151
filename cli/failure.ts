// What the CLI says when something fails, and its exit code: the library's own message from the failure's
// cause chain (no stack traces, no SDK wrappers), 2 for bad input (a config, run id or dataset the user must
// fix: retrying cannot help) and 1 for everything else.
import { ActivityFailure, ApplicationFailure, ChildWorkflowFailure, TimeoutFailure } from '@temporalio/common';
import { CommanderError } from 'commander';

export const EXIT_FAILURE = 1;
export const EXIT_BAD_INPUT = 2;
/** The shell's code for a command stopped by Ctrl-C. */
export const EXIT_INTERRUPTED = 130;

/** A mistake in the command line itself (a missing --trial, an unknown schedule id). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Library errors a user fixes by changing the input, when they are raised before anything starts. */
const LOCAL_BAD_INPUT = new Set(['ConfigError', 'RunConflictError', 'RunIdError', 'DatasetError', 'UsageError']);

export interface Explained {
  /** One or two lines for a person. */
  message: string;
  exitCode: number;
}

function chainOf(err: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let e: unknown = err; e !== undefined && e !== null && chain.length < 20; e = (e as { cause?: unknown }).cause) chain.push(e);
  return chain;
}

/** The root cause of a failure, with where it happened (activity, child run) when Temporal says so. */
export function explainFailure(err: unknown): Explained {
  if (err instanceof CommanderError) return { message: err.message.replace(/^error: /, ''), exitCode: err.exitCode === 0 ? 0 : EXIT_BAD_INPUT };
  const chain = chainOf(err);
  const where: string[] = [];
  for (const e of chain) {
    if (e instanceof ChildWorkflowFailure) where.push(`run ${e.execution.workflowId}`);
    if (e instanceof ActivityFailure) where.push(`activity ${e.activityType}`);
  }
  // The deepest ApplicationFailure carries the library's message; its type is the library's error class.
  const application = chain.filter((e): e is ApplicationFailure => e instanceof ApplicationFailure).pop();
  const timeout = chain.find((e): e is TimeoutFailure => e instanceof TimeoutFailure);
  const root = chain[chain.length - 1];
  let message: string;
  let exitCode = EXIT_FAILURE;
  if (application) {
    message = application.type && application.type !== 'Error' ? `${application.type}: ${application.message}` : application.message;
    if (application.nonRetryable) exitCode = EXIT_BAD_INPUT;
  } else if (timeout) {
    message = `Timed out: ${timeout.message}`;
  } else if (root instanceof Error) {
    message = LOCAL_BAD_INPUT.has(root.name) || root.name === 'Error' ? root.message : `${root.name}: ${root.message}`;
    if (LOCAL_BAD_INPUT.has(root.name)) exitCode = EXIT_BAD_INPUT;
  } else {
    message = String(root);
  }
  return { message: where.length ? `${message}\n  (in ${where.join(', ')})` : message, exitCode };
}
