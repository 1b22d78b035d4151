// Where the pipeline's Temporal is: TEMPORAL_ADDRESS (and TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS)
// for an existing cluster; otherwise the embedded default, a local dev server the project starts itself
// with its state in .temporal/dev.db and the Web UI on http://localhost:8233.
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
  /** Set when this process started the server (embedded default): stop it when done. */
  embedded: DevServer | null;
  uiUrl: string | null;
}

export const EMBEDDED_PORT = 7233;
export const EMBEDDED_UI_PORT = 8233;

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

/** The configured cluster, or the embedded dev server (reused when one from an earlier command still runs). */
export async function resolveTemporal(env: NodeJS.ProcessEnv = process.env): Promise<TemporalTarget> {
  const configured = targetFromEnv(env);
  if (configured) return { ...configured, embedded: null };
  const address = `127.0.0.1:${EMBEDDED_PORT}`;
  if (await answers(address)) {
    return { address, namespace: 'default', tls: false, embedded: null, uiUrl: `http://localhost:${EMBEDDED_UI_PORT}` };
  }
  const server = await DevServer.start({
    port: EMBEDDED_PORT,
    uiPort: EMBEDDED_UI_PORT,
    dbFile: join(PROJECT_ROOT, '.temporal', 'dev.db'),
    logFile: join(PROJECT_ROOT, '.temporal', 'server.log'),
  });
  return { address, namespace: 'default', tls: false, embedded: server, uiUrl: server.uiUrl };
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
