// The environment variables the project reads, in one schema, validated where a process starts (the
// worker, the CLI) as the run config is: a typo in a value fails at once, naming the variable.
import { z } from 'zod';
import { backendSchema } from './schema';
import { ConfigError } from './load';

const flag = z.enum(['0', '1']);

export const envSchema = z.object({
  FACENET_ROOT: z.string().min(1).optional().describe('Project root: relative config paths, datasets/ and runsDir resolve against it (default: the working directory).'),
  FACENET_BACKEND: backendSchema.optional().describe('Forces the tfjs backend of this worker, whatever the run config says.'),
  FACENET_WASM_THREADS: z.string().regex(/^[1-8]$/, 'a whole number from 1 to 8').optional().describe('Threads of the wasm backend (default: every core, at most 8).'),
  FACENET_WASM_SIMD: flag.optional().describe('0 turns off the wasm SIMD kernels (for comparisons).'),
  FACENET_DATASETS_DIR: z.string().min(1).optional().describe('A folder holding unpacked datasets (att_faces, lfw), looked at before downloading.'),
  FACENET_CONFIG_DIRS: z.string().min(1).optional().describe('Folders (separated like PATH) whose configs a worker reads, besides its project root.'),
  FACENET_ALLOW_ANY_CONFIG_PATH: flag.optional().describe('1 lets a worker read a config anywhere (workflow inputs name the path).'),
  FACENET_ALLOW_GPU_CPU_FALLBACK: z.enum(['0', '1', 'true', 'false']).optional().describe('1 lets backend tensorflow-gpu run on the CPU where no GPU is usable.'),
  FACENET_TEMPORAL_PORT: z.string().regex(/^\d{1,5}$/, 'a port number').optional().describe('gRPC port of the embedded dev server (default 7233; its Web UI is on that plus 1000).'),
  FACENET_TEMPORAL_DIR: z.string().min(1).optional().describe('State folder of the embedded dev server (default .temporal/).'),
  TEMPORAL_ADDRESS: z.string().min(1).optional().describe('host:port of a Temporal server; unset: the embedded local dev server.'),
  TEMPORAL_NAMESPACE: z.string().min(1).optional(),
  TEMPORAL_API_KEY: z.string().optional(),
  TEMPORAL_TLS: z.enum(['true', 'false']).optional(),
  TEMPORAL_UI_URL: z.string().url().optional(),
  TEMPORAL_CLI_PATH: z.string().min(1).optional(),
});

export type FacenetEnv = z.infer<typeof envSchema>;

/** The project's variables from `env` (others are ignored); a bad value throws ConfigError naming the variable. */
export function parseEnv(env: NodeJS.ProcessEnv = process.env): FacenetEnv {
  const known = Object.fromEntries(Object.keys(envSchema.shape).flatMap((k) => (env[k] === undefined || env[k] === '' ? [] : [[k, env[k]]])));
  const parsed = envSchema.safeParse(known);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => `${i.path.join('.')}=${JSON.stringify(known[String(i.path[0])])}: ${i.message}`);
  throw new ConfigError(`Invalid environment variable${issues.length > 1 ? 's' : ''}:\n  - ${issues.join('\n  - ')}`, issues);
}
