// Loads a run config: YAML file (optionally `extends:` another file), then `--set path=value`
// overrides, then one strict zod validation that reports every problem with its dotted path.
import { readFileSync, existsSync } from 'node:fs';
import { delimiter, dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { runConfigSchema, type RunConfig } from './schema';
import { BadInputError } from '../errors';
import { insideDir } from '../util/paths';

export class ConfigError extends BadInputError {
  constructor(
    message: string,
    readonly issues: string[] = [],
  ) {
    super(message);
  }
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Deep merge where `over` wins; arrays are replaced, not concatenated (a list of widths is one value). */
export function deepMerge(base: JsonObject, over: JsonObject): JsonObject {
  const out: JsonObject = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const prior = out[key];
    out[key] = isObject(prior) && isObject(value) ? deepMerge(prior, value) : value;
  }
  return out;
}

/**
 * Where a worker may read config files from: below one of `roots` (its project root and configured
 * config folders), symlinks resolved. `null` allows any path (FACENET_ALLOW_ANY_CONFIG_PATH=1).
 */
export type ConfigPathPolicy = { roots: string[] } | null;

export const ALLOW_ANY_CONFIG_PATH_ENV = 'FACENET_ALLOW_ANY_CONFIG_PATH';
export const CONFIG_DIRS_ENV = 'FACENET_CONFIG_DIRS';

/**
 * A worker's policy: configs under its project root or a folder of FACENET_CONFIG_DIRS (a
 * path-delimiter-separated list); any path when FACENET_ALLOW_ANY_CONFIG_PATH=1.
 */
export function workerConfigPolicy(projectRoot: string, env: NodeJS.ProcessEnv = process.env): ConfigPathPolicy {
  if (env[ALLOW_ANY_CONFIG_PATH_ENV] === '1') return null;
  const extra = (env[CONFIG_DIRS_ENV] ?? '').split(delimiter).filter(Boolean);
  return { roots: [projectRoot, ...extra].map((r) => resolve(projectRoot, r)) };
}

/** Refuses `path` (before reading a byte of it) when the policy does not allow it. */
export function checkConfigPath(path: string, policy: ConfigPathPolicy | undefined, extendedBy?: string): void {
  if (!policy || policy.roots.some((root) => insideDir(root, path))) return;
  const via = extendedBy ? ` (named by extends: in ${extendedBy})` : '';
  throw new ConfigError(
    `Config path ${path}${via} is outside the folders this worker reads configs from (${policy.roots.join(', ')}). ` +
      `Put the file under one of them, add its folder to ${CONFIG_DIRS_ENV} on the worker, or start the worker with ` +
      `${ALLOW_ANY_CONFIG_PATH_ENV}=1 to allow any path.`,
  );
}

function readYamlObject(path: string, extendedBy?: string): JsonObject {
  if (!existsSync(path)) {
    if (extendedBy) {
      throw new ConfigError(`Config file not found: ${path}, named by extends: in ${extendedBy}. Fix that extends: path (it is relative to ${dirname(extendedBy)}).`);
    }
    throw new ConfigError(`Config file not found: ${path}. Pass a path to a YAML file such as configs/smoke.yml.`);
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`${path} is not valid YAML: ${(err as Error).message}`);
  }
  if (!isObject(parsed)) throw new ConfigError(`${path} must hold a YAML mapping (key: value lines) at the top level.`);
  return parsed;
}

/**
 * Reads a YAML config and resolves its `extends:` chain (paths relative to the file that names them).
 * Every file of the chain is checked against `policy` before it is read.
 */
export function readConfigTree(path: string, seen: string[] = [], policy?: ConfigPathPolicy): JsonObject {
  const absolute = resolve(path);
  const extendedBy = seen[seen.length - 1];
  if (seen.includes(absolute)) {
    throw new ConfigError(`Config ${path} extends itself through: ${[...seen, absolute].join(' -> ')}`);
  }
  checkConfigPath(absolute, policy, extendedBy);
  const own = readYamlObject(absolute, extendedBy);
  const parentRef = own['extends'];
  delete own['extends'];
  if (parentRef === undefined) return own;
  if (typeof parentRef !== 'string') throw new ConfigError(`${path}: extends must be a file path, got ${JSON.stringify(parentRef)}`);
  const parent = readConfigTree(resolve(dirname(absolute), parentRef), [...seen, absolute], policy);
  return deepMerge(parent, own);
}

/**
 * Applies `a.b.c=value` overrides. The value is parsed as YAML, so `5`, `true`, `[32,64,128,256]`
 * and `null` get their types; anything else stays a string.
 */
export function applyOverrides(config: JsonObject, overrides: readonly string[]): JsonObject {
  let out = config;
  for (const override of overrides) {
    const eq = override.indexOf('=');
    if (eq <= 0) throw new ConfigError(`Override "${override}" must look like path.to.field=value, e.g. training.epochs=5`);
    const path = override.slice(0, eq).trim().split('.');
    if (path.some((p) => p.length === 0)) throw new ConfigError(`Override "${override}" has an empty path segment.`);
    const value = parseYaml(override.slice(eq + 1)) as Json;
    const patch: JsonObject = {};
    let cursor = patch;
    path.forEach((segment, i) => {
      if (i === path.length - 1) cursor[segment] = value;
      else cursor = cursor[segment] = {};
    });
    out = deepMerge(out, patch);
  }
  return out;
}

function valueAt(root: unknown, path: PropertyKey[]): unknown {
  let cursor: unknown = root;
  for (const key of path) {
    if (!isObject(cursor) && !Array.isArray(cursor)) return undefined;
    cursor = (cursor as Record<PropertyKey, unknown>)[key];
  }
  return cursor;
}

/** One line per zod issue: the dotted field, what was wrong, and the value that was given. */
export function formatIssues(error: z.ZodError, input: unknown): string[] {
  return error.issues.map((issue) => {
    const field = issue.path.length ? issue.path.map(String).join('.') : '(top level)';
    if (issue.code === 'unrecognized_keys') {
      const allowed = Object.keys(shapeAt(issue.path) ?? {});
      const hint = allowed.length ? `; allowed keys here: ${allowed.join(', ')}` : '';
      return `${field}: unknown key(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}${hint}`;
    }
    const given = valueAt(input, issue.path);
    const shown = given === undefined ? 'nothing (the field is missing)' : JSON.stringify(given);
    return `${field}: ${issue.message}; got ${shown}`;
  });
}

/** The keys a strict object accepts at a path of the schema, for "allowed keys" hints. */
function shapeAt(path: PropertyKey[]): Record<string, unknown> | undefined {
  let schema: unknown = runConfigSchema;
  for (const key of path) {
    schema = unwrap(schema);
    const shape = (schema as { shape?: Record<string, unknown> }).shape;
    if (!shape || typeof key !== 'string') return undefined;
    schema = shape[key];
  }
  return (unwrap(schema) as { shape?: Record<string, unknown> }).shape;
}

function unwrap(schema: unknown): unknown {
  let current = schema as { def?: { innerType?: unknown; in?: unknown } } | undefined;
  // Defaults, optionals and refinements wrap the object schema; peel them to reach its shape.
  for (let i = 0; i < 5 && current?.def; i++) {
    const inner = current.def.innerType ?? current.def.in;
    if (!inner) break;
    current = inner as typeof current;
  }
  return current;
}

export function validateConfig(raw: unknown, source = 'config'): RunConfig {
  const result = runConfigSchema.safeParse(raw);
  if (result.success) return result.data;
  const issues = formatIssues(result.error, raw);
  throw new ConfigError(`Invalid ${source}:\n  - ${issues.join('\n  - ')}`, issues);
}

export function loadConfig(path: string, overrides: readonly string[] = [], policy?: ConfigPathPolicy): RunConfig {
  const tree = applyOverrides(readConfigTree(path, [], policy), overrides);
  return validateConfig(tree, path);
}
