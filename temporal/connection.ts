// Where the pipeline's Temporal is: TEMPORAL_ADDRESS (and TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS)
// for an existing cluster; otherwise the embedded default, a local dev server the project starts itself
// with its state in .temporal/dev.db and the Web UI on http://localhost:8233 (see embeddedSettings).
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { DevServer } from './dev-server';
import { PROJECT_ROOT } from './cli-binary';
import { SEARCH_ATTRIBUTES } from './search-attributes';
import { temporal } from '@temporalio/proto';

export interface TemporalTarget {
  address: string;
  namespace: string;
  apiKey?: string;
  tls: boolean;
  /** The embedded dev server this process holds (started or joined): let go of it when done. */
  embedded: DevServer | null;
  uiUrl: string | null;
}

/**
 * The embedded default: gRPC port (FACENET_TEMPORAL_PORT, default 7233; the Web UI is on that plus 1000) and
 * state folder (FACENET_TEMPORAL_DIR, default .temporal/: dev.db, the server's and the CLI worker's logs).
 * The database file is what lets a run stopped with Ctrl-C be resumed by a later command.
 */
export interface EmbeddedSettings {
  port: number;
  uiPort: number;
  stateDir: string;
}

export function embeddedSettings(env: NodeJS.ProcessEnv = process.env): EmbeddedSettings {
  const raw = env['FACENET_TEMPORAL_PORT'];
  const port = raw ? Number(raw) : 7233;
  if (!Number.isInteger(port) || port < 1 || port > 64535) {
    throw new Error(`FACENET_TEMPORAL_PORT must be a port number from 1 to 64535 (the Web UI uses it plus 1000), but got "${raw}".`);
  }
  return { port, uiPort: port + 1000, stateDir: env['FACENET_TEMPORAL_DIR'] || join(PROJECT_ROOT, '.temporal') };
}

/** An existing cluster from the environment, or null. */
export function targetFromEnv(env: NodeJS.ProcessEnv = process.env): Omit<TemporalTarget, 'embedded'> | null {
  const address = env['TEMPORAL_ADDRESS'];
  if (!address) return null;
  return {
    address,
    namespace: env['TEMPORAL_NAMESPACE'] ?? 'default',
    apiKey: env['TEMPORAL_API_KEY'] || undefined,
    tls: env['TEMPORAL_TLS'] === 'true' || Boolean(env['TEMPORAL_API_KEY']),
    uiUrl: env['TEMPORAL_UI_URL'] ?? null,
  };
}

async function answers(address: string): Promise<boolean> {
  try {
    const connection = await Connection.connect({ address, connectTimeout: 1000 });
    await connection.close();
    return true;
  } catch {
    return false;
  }
}

/**
 * The configured cluster; or the embedded dev server: joined when another command of this project keeps it,
 * used as it is when something else answers on its port (a `temporal server start-dev` of your own), else started.
 */
export async function resolveTemporal(env: NodeJS.ProcessEnv = process.env): Promise<TemporalTarget> {
  const configured = targetFromEnv(env);
  if (configured) return { ...configured, embedded: null };
  const { port, uiPort, stateDir } = embeddedSettings(env);
  const address = `127.0.0.1:${port}`;
  const local = { address, namespace: 'default', tls: false, uiUrl: `http://localhost:${uiPort}` };
  const options = { port, uiPort, dbFile: join(stateDir, 'dev.db'), logFile: join(stateDir, 'server.log') };
  const joined = await DevServer.join(options);
  if (joined) return { ...local, embedded: joined };
  if (await answers(address)) return { ...local, embedded: null };
  return { ...local, embedded: await DevServer.start(options) };
}

export async function clientConnection(target: Pick<TemporalTarget, 'address' | 'apiKey' | 'tls'>): Promise<Connection> {
  return Connection.connect({ address: target.address, tls: target.tls || undefined, apiKey: target.apiKey });
}

export async function workerConnection(target: Pick<TemporalTarget, 'address' | 'apiKey' | 'tls'>): Promise<NativeConnection> {
  return NativeConnection.connect({ address: target.address, tls: target.tls || undefined, apiKey: target.apiKey });
}

/**
 * Registers the pipeline's search attributes on a cluster that lacks them (the dev server gets them at start).
 * Without them, upserting them would fail the workflow task.
 */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<string[]> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const have = new Set(Object.keys(existing.customAttributes ?? {}));
  const typeOf: Record<string, temporal.api.enums.v1.IndexedValueType> = {
    Keyword: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    Double: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
    Int: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_INT,
  };
  const missing = Object.entries(SEARCH_ATTRIBUTES).filter(([key]) => !have.has(key));
  if (missing.length === 0) return [];
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(missing.map(([key, type]) => [key, typeOf[type]!])),
  });
  return missing.map(([key]) => key);
}
