// A pipeline worker in its own process (worker.ts), so a test can SIGKILL it like a crashed machine.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

export interface Queues {
  workflows: string;
  cpu: string;
  accel: string;
}

export interface WorkerProcess {
  child: ChildProcess;
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export async function startWorkerProcess(address: string, queues: Queues, env: NodeJS.ProcessEnv = {}): Promise<WorkerProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'worker.ts'), '--workflow-queue', queues.workflows, '--cpu-queue', queues.cpu, '--accel-queue', queues.accel, '--log-level', 'WARN'],
    { cwd: ROOT, env: { ...process.env, TEMPORAL_ADDRESS: address, FACENET_ROOT: ROOT, FACENET_BACKEND: 'wasm', ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 120_000;
  while (!log.includes('polling')) {
    if (child.exitCode !== null) throw new Error(`worker exited with ${child.exitCode}:\n${log}`);
    if (Date.now() > deadline) throw new Error(`worker did not start within 120 s:\n${log}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    child,
    output: () => log,
    async kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
