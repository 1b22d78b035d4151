// A real Temporal dev server for integration tests (the `temporal` CLI; see scripts/install-temporal-cli.sh),
// one per test file, and the workflow bundle built once per file.
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { DevServer, type DevServerOptions } from '../../temporal/dev-server';

export interface TemporalTestEnv {
  server: DevServer;
  client: Client;
  connection: Connection;
  nativeConnection: NativeConnection;
  bundle: WorkflowBundleWithSourceMap;
  close(): Promise<void>;
}

let bundlePromise: Promise<WorkflowBundleWithSourceMap> | null = null;
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundlePromise ??= bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows'), logger: quietLogger() });
  return bundlePromise;
}

function quietLogger() {
  const noop = () => undefined;
  return { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: console.error };
}

export async function startTemporal(options: DevServerOptions = {}): Promise<TemporalTestEnv> {
  const server = await DevServer.start({ uiPort: null, ...options });
  const connection = await Connection.connect({ address: server.address });
  const nativeConnection = await NativeConnection.connect({ address: server.address });
  const client = new Client({ connection });
  const bundle = await workflowBundle();
  return {
    server,
    client,
    connection,
    nativeConnection,
    bundle,
    async close() {
      await nativeConnection.close();
      await connection.close();
      await server.stop();
    },
  };
}

let counter = 0;
export function uniqueQueue(prefix: string): string {
  counter += 1;
  return `${prefix}-${process.pid}-${counter}-${Date.now()}`;
}

/** The whole cause chain of a workflow failure in one message, so a failed test says why. */
export async function resultOrExplain<T>(promise: Promise<T>): Promise<T> {
  try {
    return await promise;
  } catch (err) {
    const chain: string[] = [];
    for (let e: unknown = err; e instanceof Error; e = e.cause) chain.push(`${e.name}: ${e.message}`);
    throw new Error(chain.join('\n  caused by '), { cause: err });
  }
}

/**
 * Waits until the training activity running `epoch` has heartbeated (heartbeats are throttled, so the first one,
 * sent as the epoch starts, may be the only one seen), then a little longer, to land inside the epoch.
 */
export async function waitForEpoch(handle: WorkflowHandle, epoch: number, thenMs: number, timeoutMs = 240_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const desc = await handle.describe();
    for (const a of desc.raw.pendingActivities ?? []) {
      const payload = a.heartbeatDetails?.payloads?.[0];
      if (a.activityType?.name !== 'trainEpochs' || !payload?.data) continue;
      const details = JSON.parse(Buffer.from(payload.data).toString()) as { epoch: number };
      if (details.epoch === epoch) {
        await new Promise((r) => setTimeout(r, thenMs));
        return;
      }
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`no heartbeat from epoch ${epoch} within ${timeoutMs / 1000} s`);
}
