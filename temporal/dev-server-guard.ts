// The keeper of one local Temporal dev server: a small process of its own session (spawned detached, so a
// terminal's Ctrl-C reaches neither it nor the server) that starts `temporal server start-dev` and stops it
// when the last process using it is gone.
//
// Users of the server hold a connection to the guard's Unix socket. The kernel closes that connection when its
// process ends, however it ends (normal exit, crash, SIGKILL), so the server can never outlive the commands
// that use it, and two commands sharing one server (a second `npm start` following the same run) do not stop
// it under each other. A holder that wants the server stopped now sends "release"; the guard answers
// "stopping" (it was the last one: the socket closes once the server has exited) or "kept" (others remain).
//
//   node --require tsx/cjs temporal/dev-server-guard.ts '<GuardSpec as JSON>'
import { spawn } from 'node:child_process';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { openSync, rmSync } from 'node:fs';

export interface GuardSpec {
  command: string;
  args: string[];
  socketPath: string;
  /** The server's output is appended here; default: discarded. */
  logFile?: string;
}

/** The guard's exit code when another guard already keeps a server on this socket. */
export const ALREADY_GUARDED = 3;
/** A guard nobody connects to (its starter died while it started) stops after this long. */
const FIRST_HOLDER_MS = 60_000;
/** After SIGTERM, the server gets this long to exit before SIGKILL. */
const KILL_AFTER_MS = 10_000;

function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function listen(path: string, onConnection: (s: Socket) => void): Promise<Server | null> {
  return new Promise((resolve, reject) => {
    const server = createServer(onConnection);
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EADDRINUSE') return reject(err);
      void socketAnswers(path).then((alive) => {
        if (alive) return resolve(null);
        // A socket file left by a guard that was killed: nobody listens on it.
        rmSync(path, { force: true });
        server.listen(path, () => resolve(server));
      });
    });
    server.listen(path, () => resolve(server));
  });
}

async function main(spec: GuardSpec): Promise<void> {
  const holders = new Set<Socket>();
  const leaving = new Set<Socket>();
  let stopping = false;
  let serverProcess: ReturnType<typeof spawn> | null = null;

  const stop = () => {
    if (stopping) return;
    stopping = true;
    // Nobody joins a server that is going away: a command starting now gets a new one (see DevServer.launch).
    listener?.close();
    const child = serverProcess;
    if (!child || child.exitCode !== null || child.signalCode !== null) return finish(0);
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS).unref();
  };
  const release = (socket: Socket, answer: boolean) => {
    if (!holders.delete(socket)) return;
    if (holders.size === 0) {
      if (answer) {
        leaving.add(socket);
        socket.write('stopping\n');
      }
      stop();
    } else if (answer) socket.end('kept\n');
  };

  let listener: Server | null = null;
  listener = await listen(spec.socketPath, (socket) => {
    socket.on('error', () => undefined);
    if (stopping) {
      socket.end('stopping\n');
      return;
    }
    holders.add(socket);
    let received = '';
    socket.on('data', (data) => {
      received += data.toString();
      if (received.includes('release\n')) release(socket, true);
    });
    socket.on('close', () => release(socket, false));
  });
  if (!listener) process.exit(ALREADY_GUARDED);

  const finish = (code: number) => {
    listener?.close();
    rmSync(spec.socketPath, { force: true });
    for (const s of [...holders, ...leaving]) s.destroy();
    process.exit(code);
  };

  // The terminal's signals are not for this process (it has its own session anyway); a deliberate one stops it.
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', stop);
  process.on('SIGHUP', stop);

  const out = spec.logFile ? openSync(spec.logFile, 'a') : 'ignore';
  serverProcess = spawn(spec.command, spec.args, { stdio: ['ignore', out, out] });
  serverProcess.once('error', (err) => {
    console.error(`could not start ${spec.command}: ${err.message}`);
    finish(1);
  });
  serverProcess.once('exit', (code, signal) => finish(stopping ? 0 : (code ?? (signal ? 1 : 0))));
  setTimeout(() => {
    if (holders.size === 0) stop();
  }, FIRST_HOLDER_MS).unref();
}

if (require.main === module) {
  main(JSON.parse(process.argv[2] ?? '{}') as GuardSpec).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
