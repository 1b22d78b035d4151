// The configuration reference in docs/configuration.md, generated from the zod schema (a test keeps them in sync):
// one row per field with its type or allowed values, default and description.
import { z } from 'zod';
import { runConfigSchema } from './schema';

interface JsonSchema {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  prefixItems?: JsonSchema[];
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
}

function typeOf(s: JsonSchema): string {
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' \\| ');
  if (s.const !== undefined) return JSON.stringify(s.const);
  const variants = s.anyOf ?? s.oneOf;
  if (variants) return variants.map(typeOf).join(' or ');
  if (s.prefixItems) return `[${s.prefixItems.map(typeOf).join(', ')}]`;
  if (s.type === 'array') return `list of ${s.items ? typeOf(s.items) : 'values'}`;
  let t = Array.isArray(s.type) ? s.type.join(' or ') : (s.type ?? 'any');
  if (t === 'integer' || t === 'number') {
    // zod's int() adds the safe-integer bounds; they say nothing to a reader.
    const shown = (v: number | undefined) => (v !== undefined && Math.abs(v) < Number.MAX_SAFE_INTEGER ? v : undefined);
    const lo = shown(s.exclusiveMinimum) !== undefined ? `> ${s.exclusiveMinimum}` : shown(s.minimum) !== undefined ? `>= ${s.minimum}` : '';
    const hi = shown(s.maximum) !== undefined ? `<= ${s.maximum}` : '';
    const range = [lo, hi].filter(Boolean).join(', ');
    if (range) t += ` (${range})`;
  }
  return t;
}

function rows(schema: JsonSchema, path: string, required: boolean, out: string[]): void {
  const variants = schema.oneOf ?? schema.anyOf;
  if (variants && variants.every((v) => v.properties)) {
    for (const v of variants) {
      const kind = v.properties?.['kind']?.const;
      rows({ ...v, default: schema.default, description: schema.description }, kind !== undefined ? `${path} (kind: ${String(kind)})` : path, required, out);
    }
    return;
  }
  if (schema.properties && !schema.anyOf) {
    for (const [key, child] of Object.entries(schema.properties)) {
      rows(child, path ? `${path}.${key}` : key, (schema.required ?? []).includes(key) && child.default === undefined, out);
    }
    return;
  }
  const def = schema.default === undefined ? (required ? '**required**' : '') : `\`${JSON.stringify(schema.default)}\``;
  out.push(`| \`${path}\` | ${typeOf(schema)} | ${def} | ${(schema.description ?? '').replace(/\|/g, '\\|')} |`);
}

export function configReference(): string {
  const json = z.toJSONSchema(runConfigSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const out = ['| field | type / allowed | default | what it does |', '| --- | --- | --- | --- |'];
  rows(json, '', true, out);
  return out.join('\n');
}
