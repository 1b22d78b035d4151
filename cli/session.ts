// What one CLI command sets up and must take down again, in order: the Temporal target (the embedded dev server
// held through its guard, see temporal/dev-server.ts), a client connection, and, unless --detach, an in-process
// worker with its own native connection. close() undoes them in reverse: the workers stop polling and finish,
// then their connection closes (closing it first gives "Cannot close connection while Workers hold a reference
// to it"), then the client's, then the server is let go (stopped when no other command holds it).
import { join } from 'node:path';
import { Client, Connection, WorkflowFailedError, WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { createActivities, workerActivityDeps } from '../activities';
import { parseEnv } from '../src/config/env';
import { fileLogger } from '../temporal/logger';
import { ALL_ROLES, createWorkers, runWorkers } from '../temporal/workers';
import { clientConnection, embeddedSettings, ensureSearchAttributes, resolveTemporal, workerConnection, type TemporalTarget } from '../temporal/connection';
import { EXIT_FAILURE, EXIT_INTERRUPTED, explainFailure } from './failure';
import type { ProgressView } from './progress';

export class Session {
  private nativeConnection: NativeConnection | null = null;
  private workersDone: Promise<unknown> | null = null;
  private closed = false;
  /** Set by forceExit: the process is about to exit, nothing more is reported. */
  exiting = false;

  private constructor(
    readonly target: TemporalTarget,
    readonly connection: Connection,
    readonly client: Client,
  ) {}

  static async open(): Promise<Session> {
    const target = await resolveTemporal();
    try {
      const connection = await clientConnection(target);
      await ensureSearchAttributes(connection, target.namespace);
      return new Session(target, connection, new Client({ connection, namespace: target.namespace }));
    } catch (err) {
      await target.embedded?.stop();
      throw err;
    }
  }

  /** Where the in-process worker's log goes (the SDK's messages; warnings are also shown above the progress). */
  static workerLogPath(): string {
    return join(embeddedSettings().stateDir, 'worker.log');
  }

  describeTarget(): string {
    const t = this.target;
    const where = t.embedded ? `embedded dev server${t.embedded.started ? '' : ' (already running for another command)'}, state in ${t.embedded.stateFile ?? 'memory'}` : 'existing server';
    return `Temporal ${t.address} (${where}); Web UI: ${t.uiUrl ?? 'n/a'}`;
  }

  workflowUrl(workflowId: string): string {
    return this.target.uiUrl ? `${this.target.uiUrl}/namespaces/${this.target.namespace}/workflows/${encodeURIComponent(workflowId)}` : '';
  }

  /**
   * Runs every worker role in this process until `until` settles. The SDK's log goes to the worker log file;
   * its warnings also to `onWarning` (the progress view prints them above the bars).
   */
  async startWorker(until: Promise<unknown>, onWarning: (line: string) => void): Promise<void> {
    // shutdownSignals []: Ctrl-C is the CLI's to handle (cancel the run, let it checkpoint), not the SDK's.
    // The SDK's native core logs to the terminal by itself (raw, coloured, between the bars): forwarded here instead.
    Runtime.install({
      logger: fileLogger(Session.workerLogPath(), onWarning),
      shutdownSignals: [],
      telemetryOptions: { logging: { filter: { core: 'WARN', other: 'WARN' }, forward: {} } },
    });
    this.nativeConnection = await workerConnection(this.target);
    const deps = workerActivityDeps(parseEnv());
    const workers: Worker[] = await createWorkers({
      connection: this.nativeConnection,
      namespace: this.target.namespace,
      roles: ALL_ROLES,
      activities: createActivities(deps),
    });
    // TensorFlow's own C++ log (oneDNN, CPU features) would land in the terminal: only its errors, unless asked.
    process.env['TF_CPP_MIN_LOG_LEVEL'] ??= '2';
    await deps.sessions.backend.preload(); // after createWorkers, as in worker.ts
    this.workersDone = runWorkers(workers, until.catch(() => undefined)).catch((err: unknown) => onWarning(`worker stopped: ${String(err)}`));
  }

  /** Takes everything down in order (see the top of this file). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.workersDone;
    await this.nativeConnection?.close();
    await this.connection.close();
    await this.target.embedded?.stop();
  }

  /**
   * The second Ctrl-C: `last` (terminating the workflow, so that the next start resumes it at once instead of
   * waiting for the lost activity's heartbeat timeout) gets at most 2 s; then everything is let go and the
   * process exits (the guard stops the server if no other command holds it).
   */
  forceExit(last?: () => Promise<unknown>): void {
    this.exiting = true;
    const deadline = new Promise((r) => setTimeout(r, 2000));
    void Promise.race([last?.().catch(() => undefined), deadline]).finally(() => {
      this.target.embedded?.abandon();
      process.exit(EXIT_INTERRUPTED);
    });
  }
}

/**
 * Ctrl-C (and SIGTERM): the first calls `first` (cancel and wait), a second one `force`. One keypress can be
 * delivered twice (the terminal signals the whole foreground process group, and tsx relays it to its child),
 * so a second signal within 500 ms of the first is taken as the same one.
 */
export function onInterrupt(first: () => void, force: () => void): () => void {
  let firstAt: number | null = null;
  const handler = () => {
    const now = Date.now();
    if (firstAt === null) {
      firstAt = now;
      first();
    } else if (now - firstAt > 500) force();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}

/** With the embedded default nothing runs once the last command lets go of the server. */
export const detachedNote =
  'Note: this command started the embedded server, and it stops with this command: the workflow waits (in the database) ' +
  'until `npm run worker` runs, which starts the server again and serves it.';

/** An argument as a shell would need it (for the commands the CLI prints for copying). */
export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_./:=,@%+-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function setFlags(flag: string, values: readonly string[]): string[] {
  return values.flatMap((v) => [flag, v]);
}

/** The status of the latest execution with this workflow id (RUNNING, COMPLETED, CANCELLED, ...), or null when there is none. */
export async function statusOf(handle: WorkflowHandle): Promise<string | null> {
  try {
    return (await handle.describe()).status.name;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return null;
    throw err;
  }
}

export interface Supervised<T> {
  session: Session;
  view: ProgressView;
  handle: WorkflowHandle;
  /** How messages name it: "Run x", "Sweep x". */
  name: string;
  /** The command that resumes it. */
  resume: string;
  /** What a cancellation does, after "Cancelling… ". */
  cancelling: string;
  /** Shows progress until `result` settles. */
  follow(result: Promise<T>): Promise<void>;
  /** Prints the result. */
  done(result: T): void;
}

/**
 * Runs a started workflow to its end with the in-process worker, as `run` and `sweep` do: progress while it runs,
 * Ctrl-C cancels it (and waits for the checkpoint), a second Ctrl-C terminates it and exits at once; the end is
 * reported with the root cause of a failure and the exit code (failure.ts).
 */
export async function supervise<T>(s: Supervised<T>): Promise<void> {
  const result = s.handle.result() as Promise<T>;
  // Read below, once the worker is up; a run that fails before then (another worker took it) must not end the
  // process as an unhandled rejection.
  result.catch(() => undefined);
  let interrupted = false;
  const removeHandler = onInterrupt(
    () => {
      interrupted = true;
      s.view.log(`Cancelling… ${s.cancelling} (Ctrl-C again to stop at once). Resume with: ${s.resume}`);
      s.handle.cancel().catch((err: unknown) => s.view.log(`Could not cancel: ${explainFailure(err).message}`));
    },
    () => {
      s.view.close();
      console.log(`\nStopping at once: ${s.name} is terminated and keeps its last checkpoint. Resume with: ${s.resume}`);
      s.session.forceExit(() => s.handle.terminate('stopped at once by a second Ctrl-C'));
    },
  );
  try {
    s.view.start();
    await s.session.startWorker(result, (line) => s.view.log(line));
    s.view.log(`Worker log: ${Session.workerLogPath()}`);
    await s.follow(result);
    const value = await result.finally(() => s.view.close());
    s.done(value);
  } catch (err) {
    s.view.close();
    if (s.session.exiting) await new Promise(() => undefined); // a second Ctrl-C: forceExit ends the process
    if (err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure) {
      if (interrupted) console.log(`Cancelled; the latest checkpoint is kept. Resume with: ${s.resume}`);
      else console.log(`${s.name} was cancelled (not by this command). Resume with: ${s.resume}`);
      process.exitCode = EXIT_INTERRUPTED;
      return;
    }
    const { message, exitCode } = explainFailure(err);
    console.error(`${s.name} failed: ${message}`);
    if (exitCode === EXIT_FAILURE) console.error(`Once the cause is fixed, resume with: ${s.resume}`);
    process.exitCode = exitCode;
  } finally {
    removeHandler();
  }
}
