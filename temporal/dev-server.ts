// A local Temporal dev server (the `temporal` CLI's `server start-dev`), for the embedded default and tests.
// With a database file its state survives a stop/start: resuming a run after Ctrl-C and the server-restart
// test rely on that.
//
// The server is kept by a guard process (dev-server-guard.ts) in a session of its own: a terminal's Ctrl-C
// reaches neither, so the CLI can still cancel its run and wait for the checkpoint. Each DevServer holds a
// connection to the guard, and the guard stops the server once no process holds one, also when the holders
// were killed (the kernel closes their connections): nothing is left running after the commands that use it.
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer, type Socket } from 'node:net';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Connection } from '@temporalio/client';
import { findTemporalCli } from './cli-binary';
import { SEARCH_ATTRIBUTES } from './search-attributes';
import { ALREADY_GUARDED, type GuardSpec } from './dev-server-guard';

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

/** The guard's socket of the dev server on a port (one server per port on a machine). */
export function guardSocketPath(port: number): string {
  return join(tmpdir(), `facenet-temporal-${port}.sock`);
}

function connectTo(path: string): Promise<Socket | null> {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once('connect', () => {
      socket.removeAllListeners('error');
      socket.on('error', () => undefined);
      resolve(socket);
    });
    socket.once('error', () => resolve(null));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class DevServer {
  /** Our connection to the guard: while it is open, the server runs. */
  private holder: Socket | null = null;
  /** Whether this process started the server (rather than joining one another command started). */
  started = false;

  private constructor(
    readonly address: string,
    readonly port: number,
    readonly uiPort: number | null,
    private readonly options: DevServerOptions,
  ) {}

  /** Starts a server, or joins the one a guard already keeps on `options.port`. */
  static async start(options: DevServerOptions = {}): Promise<DevServer> {
    const port = options.port || (await freePort());
    const uiPort = options.uiPort === undefined ? await freePort() : options.uiPort;
    const server = new DevServer(`127.0.0.1:${port}`, port, uiPort, options);
    await server.launch();
    return server;
  }

  /** Joins the server a guard keeps on this port, or null when there is none. */
  static async join(options: DevServerOptions & { port: number }): Promise<DevServer | null> {
    const socket = await connectTo(guardSocketPath(options.port));
    if (!socket) return null;
    const server = new DevServer(`127.0.0.1:${options.port}`, options.port, options.uiPort ?? null, options);
    server.hold(socket);
    await server.waitUntilReady(null);
    return server;
  }

  /** The database file that keeps the server's state across restarts, or null (in memory). */
  get stateFile(): string | null {
    return this.options.dbFile ?? null;
  }

  get uiUrl(): string | null {
    return this.uiPort === null ? null : `http://127.0.0.1:${this.uiPort}`;
  }

  private hold(socket: Socket): void {
    socket.unref(); // holding the server must not keep this process alive
    this.holder = socket;
  }

  /** Starts the server (again, after stop(): same ports and database) and waits until it answers. */
  async launch(): Promise<void> {
    if (this.holder) return;
    const socketPath = guardSocketPath(this.port);
    for (let attempt = 0; attempt < 3; attempt++) {
      const existing = await connectTo(socketPath);
      if (existing) {
        this.hold(existing);
        return this.waitUntilReady(null);
      }
      const guard = this.spawnGuard(socketPath);
      const exited = new Promise<number | null>((resolve) => guard.once('exit', (code) => resolve(code)));
      // The guard listens within a fraction of a second (node startup); then we hold it.
      let socket: Socket | null = null;
      while (!socket && guard.exitCode === null) {
        socket = await connectTo(socketPath);
        if (!socket) await Promise.race([sleep(50), exited]);
      }
      if (!socket && (await exited) === ALREADY_GUARDED) continue; // another command started one meanwhile: join it
      if (socket) {
        this.hold(socket);
        this.started = true;
        try {
          return await this.waitUntilReady(guard);
        } catch (err) {
          if (guard.exitCode === null || attempt === 2) throw err;
        }
      } else if (attempt === 2) {
        throw new Error(`temporal server start-dev exited with code ${guard.exitCode} (port ${this.port} busy?)` + (this.options.logFile ? `; see ${this.options.logFile}` : ''));
      }
      // The server of a command that just ended may hold the port for a moment longer: try again.
      await sleep(1000);
    }
    throw new Error(`Could not start or join the Temporal dev server on port ${this.port}; see ${socketPath}`);
  }

  private spawnGuard(socketPath: string): ChildProcess {
    const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(this.port), '--log-level', 'warn'];
    if (this.uiPort === null) args.push('--headless');
    else args.push('--ui-port', String(this.uiPort), '--ui-disable-news-fetch');
    if (this.options.dbFile) {
      mkdirSync(dirname(this.options.dbFile), { recursive: true });
      args.push('--db-filename', this.options.dbFile);
    }
    if (this.options.logFile) mkdirSync(dirname(this.options.logFile), { recursive: true });
    if (this.options.namespace && this.options.namespace !== 'default') args.push('--namespace', this.options.namespace);
    for (const [key, type] of Object.entries(SEARCH_ATTRIBUTES)) args.push('--search-attribute', `${key}=${type}`);
    const spec: GuardSpec = { command: findTemporalCli(), args, socketPath, logFile: this.options.logFile };
    // detached: a session of its own, out of reach of the terminal's Ctrl-C. Its own errors go to the log too.
    const log = this.options.logFile ? openSync(this.options.logFile, 'a') : 'ignore';
    const guard = spawn(process.execPath, ['--require', require.resolve('tsx/cjs'), require.resolve('./dev-server-guard'), JSON.stringify(spec)], {
      stdio: ['ignore', log, log],
      detached: true,
    });
    guard.unref();
    if (typeof log === 'number') closeSync(log);
    return guard;
  }

  private async waitUntilReady(guard: ChildProcess | null, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    while (Date.now() < deadline) {
      if (guard && guard.exitCode !== null) {
        this.holder = null;
        throw new Error(`temporal server start-dev exited with code ${guard.exitCode} (port ${this.port} busy?)` + (this.options.logFile ? `; see ${this.options.logFile}` : ''));
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
        await sleep(250);
      }
    }
    throw new Error(`Temporal dev server did not answer on ${this.address} within ${timeoutMs / 1000}s: ${String(lastError)}`);
  }

  /**
   * Lets go of the server and, when no other process holds it, waits until it has stopped (the guard sends
   * SIGTERM, then SIGKILL after 10 s).
   */
  async stop(): Promise<void> {
    const socket = this.holder;
    if (!socket) return;
    this.holder = null;
    if (socket.destroyed) return;
    socket.ref(); // until the server has stopped
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      socket.on('data', (d) => {
        if (d.toString().includes('kept')) socket.destroy();
      });
      socket.write('release\n');
    });
  }

  /** Lets go at once, without waiting: the guard stops the server if this was the last holder. */
  abandon(): void {
    this.holder?.destroy();
    this.holder = null;
  }
}
