// A local Temporal dev server (the `temporal` CLI's `server start-dev`), for the embedded default and tests.
// With a database file its state survives a stop/start: the server-restart test relies on that.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { Connection } from '@temporalio/client';
import { findTemporalCli } from './cli-binary';
import { SEARCH_ATTRIBUTES } from './search-attributes';

export interface DevServerOptions {
  /** gRPC port; 0 picks a free one. */
  port?: number;
  /** Web UI port; null disables the UI (headless). */
  uiPort?: number | null;
  /** Persistent state; without it the server forgets everything when it stops. */
  dbFile?: string;
  /** Server output goes here (appended); default: discarded. */
  logFile?: string;
  namespace?: string;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export class DevServer {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();

  private constructor(
    readonly address: string,
    readonly port: number,
    readonly uiPort: number | null,
    private readonly options: DevServerOptions,
  ) {}

  static async start(options: DevServerOptions = {}): Promise<DevServer> {
    const port = options.port || (await freePort());
    const uiPort = options.uiPort === undefined ? await freePort() : options.uiPort;
    const server = new DevServer(`127.0.0.1:${port}`, port, uiPort, options);
    await server.launch();
    return server;
  }

  get uiUrl(): string | null {
    return this.uiPort === null ? null : `http://127.0.0.1:${this.uiPort}`;
  }

  /** Starts the process (again, after stop(): same ports and database) and waits until it answers. */
  async launch(): Promise<void> {
    if (this.child) return;
    const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(this.port), '--log-level', 'warn'];
    if (this.uiPort === null) args.push('--headless');
    else args.push('--ui-port', String(this.uiPort), '--ui-disable-news-fetch');
    if (this.options.dbFile) {
      mkdirSync(dirname(this.options.dbFile), { recursive: true });
      args.push('--db-filename', this.options.dbFile);
    }
    if (this.options.namespace && this.options.namespace !== 'default') args.push('--namespace', this.options.namespace);
    for (const [key, type] of Object.entries(SEARCH_ATTRIBUTES)) args.push('--search-attribute', `${key}=${type}`);
    const out = this.options.logFile ? openSync(this.options.logFile, 'a') : 'ignore';
    const child = spawn(findTemporalCli(), args, { stdio: ['ignore', out, out], detached: false });
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    await this.waitUntilReady(child);
  }

  private async waitUntilReady(child: ChildProcess, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) {
        throw new Error(`temporal server start-dev exited with code ${child.exitCode} (port ${this.port} busy?)` + (this.options.logFile ? `; see ${this.options.logFile}` : ''));
      }
      try {
        const connection = await Connection.connect({ address: this.address, connectTimeout: 1000 });
        try {
          await connection.workflowService.getSystemInfo({});
          return;
        } finally {
          await connection.close();
        }
      } catch (err) {
        lastError = err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    throw new Error(`Temporal dev server did not answer on ${this.address} within ${timeoutMs / 1000}s: ${String(lastError)}`);
  }

  /** Stops the server process (SIGTERM, then SIGKILL after 10 s). */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = null;
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await this.exited;
      clearTimeout(timer);
    }
  }
}
