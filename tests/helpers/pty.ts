// A command in a pseudo-terminal, as a person runs it: its output is a terminal's (bars, cursor codes), and a
// Ctrl-C written as the keystroke \x03 becomes SIGINT for the terminal's foreground process group (npm, sh,
// tsx, node: all of them, as in a real terminal). Python's pty module does the terminal: no native npm module.
import { spawn, type ChildProcess } from 'node:child_process';

// Runs argv[1] with `bash -c` in a 200x50 pty; copies the pty's output to stdout and stdin to the pty;
// exits with the command's exit code (128 + signal when it was killed by one).
const RUNNER = `
import os, pty, select, struct, sys, fcntl, termios
pid, fd = pty.fork()
if pid == 0:
    os.execvp('bash', ['bash', '-c', sys.argv[1]])
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', 50, 200, 0, 0))
stdin_open = True
while True:
    inputs = [fd] + ([0] if stdin_open else [])
    ready, _, _ = select.select(inputs, [], [])
    if 0 in ready:
        data = os.read(0, 1024)
        if data: os.write(fd, data)
        else: stdin_open = False
    if fd in ready:
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b''
        if not data: break
        os.write(1, data)
_, status = os.waitpid(pid, 0)
sys.exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
`;

export interface PtyProcess {
  child: ChildProcess;
  /** Everything printed so far, terminal control sequences and carriage returns removed. */
  output(): string;
  /** Types into the terminal (e.g. '\x03' for Ctrl-C). */
  type(keys: string): void;
  exited: Promise<number | null>;
}

export function stripTerminal(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '\n');
}

export function runInPty(command: string, options: { cwd: string; env: NodeJS.ProcessEnv }): PtyProcess {
  const child = spawn('python3', ['-c', RUNNER, command], { cwd: options.cwd, env: options.env, stdio: ['pipe', 'pipe', 'inherit'] });
  let raw = '';
  child.stdout?.on('data', (d: Buffer) => (raw += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    output: () => stripTerminal(raw),
    type: (keys) => child.stdin?.write(keys),
    exited,
  };
}

/** Waits until `test` holds for the output (or the process ends, or `timeoutMs` passes: then throws with the output). */
export async function waitForOutput(p: PtyProcess, test: (output: string) => boolean, what: string, timeoutMs = 240_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!test(p.output())) {
    if (p.child.exitCode !== null || Date.now() > deadline) throw new Error(`no ${what} in the output:\n${p.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
