// Finds the `temporal` CLI: $TEMPORAL_CLI_PATH, then the project's .tools/bin (scripts/install-temporal-cli.sh),
// then PATH. The CLI is the dev server for local runs and tests.
import { existsSync } from 'node:fs';
import { delimiter, join, relative } from 'node:path';

export const PROJECT_ROOT = join(__dirname, '..');

export function findTemporalCli(env: NodeJS.ProcessEnv = process.env): string {
  const candidates = [
    env['TEMPORAL_CLI_PATH'],
    join(PROJECT_ROOT, '.tools', 'bin', 'temporal'),
    ...(env['PATH'] ?? '').split(delimiter).map((dir) => join(dir, 'temporal')),
  ].filter((p): p is string => Boolean(p));
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    throw new Error(
      'The temporal CLI was not found (looked at $TEMPORAL_CLI_PATH, .tools/bin/temporal and PATH). ' +
        'Install it with `bash scripts/install-temporal-cli.sh`, or point TEMPORAL_ADDRESS at an existing Temporal server.',
    );
  }
  return found;
}

/**
 * How to type the CLI in a message to the user: `temporal` when it is on PATH, else the path of the one
 * findTemporalCli would use ($TEMPORAL_CLI_PATH, or the project's own, relative to `cwd` when inside it).
 */
export function temporalCliForMessages(
  cwd: string = process.cwd(),
  env: NodeJS.ProcessEnv = process.env,
  own: string = join(PROJECT_ROOT, '.tools', 'bin', 'temporal'),
): string {
  if ((env['PATH'] ?? '').split(delimiter).some((dir) => dir !== '' && existsSync(join(dir, 'temporal')))) return 'temporal';
  const path = env['TEMPORAL_CLI_PATH'] || (existsSync(own) ? own : undefined);
  if (!path) return 'temporal';
  const rel = relative(cwd, path);
  return rel.startsWith('..') || rel === '' ? path : rel;
}
