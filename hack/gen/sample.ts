/**
 * config/samples/kaiwomonitor_full.yaml: every spec field with its default and its schema description, derived
 * from the registered checks. Fields without a default are commented out, with a placeholder value.
 */
import { API_VERSION, buildSpecSchema, KIND, type Schema } from '../../src/api/schema.js';
import { CHECKS } from '../../src/checks/registry.js';
import type { AnyCheck } from '../../src/checks/types.js';
import { flowYaml } from './rbac.js';

export const SAMPLE_FILE = 'config/samples/kaiwomonitor_full.yaml';

const props = (s: Schema) => s.properties as Record<string, Schema> | undefined;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A value that sets every property the schema declares: its default where it has one, else a placeholder (a list of one). */
export function fullValue(s: Schema, def: unknown = s.default): unknown {
  const p = props(s);
  if (p)
    return Object.fromEntries(Object.entries(p).map(([k, sub]) => [k, fullValue(sub, isObject(def) && k in def ? def[k] : sub.default)]));
  if (def !== undefined && !(Array.isArray(def) && def.length === 0)) return def;
  if (s.type === 'array') return [fullValue(s.items as Schema)];
  if (s.type === 'object') return {};
  if (Array.isArray(s.enum)) return s.enum[0];
  return ({ boolean: false, integer: s.minimum ?? 0, number: s.minimum ?? 0 } as Record<string, unknown>)[s.type as string] ?? '<string>';
}

/** `# text` lines, wrapped at about 118 columns. */
function comment(text: string | undefined, indent: string): string[] {
  if (!text) return [];
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && indent.length + line.length + word.length > 115) {
      lines.push(`${indent}# ${line}`);
      line = '';
    }
    line = line ? `${line} ${word}` : word;
  }
  return [...lines, `${indent}# ${line}`];
}

/** `key: value` as YAML lines at `indent`. */
const leaf = (key: string, value: unknown, indent: string) =>
  flowYaml({ [key]: value })
    .trimEnd()
    .split('\n')
    .map((l) => `${indent}${l}`);

/** A section to list field by field (with comments): an object some of whose properties have a default. */
const isSection = (s: Schema) => Object.values(props(s) ?? {}).some((p) => p.default !== undefined);

/** The properties of `s` set to `value` (its defaults), each under its description; missing ones commented out. */
function fields(s: Schema, value: Record<string, unknown>, indent: string): string[] {
  return Object.entries(props(s) ?? {}).flatMap(([key, sub]) => {
    const lines = comment(sub.description as string | undefined, indent);
    const v = value[key];
    if (v === undefined) return [...lines, ...leaf(key, fullValue(sub), indent).map((l) => `${indent}# ${l.slice(indent.length)}`)];
    if (isSection(sub) && isObject(v)) return [...lines, `${indent}${key}:`, ...fields(sub, v, `${indent}  `)];
    return [...lines, ...leaf(key, v, indent)];
  });
}

export function renderSample(checks: readonly AnyCheck[] = CHECKS): string {
  const schema = buildSpecSchema(checks);
  return [
    '# Generated from src/checks/registry.ts by `make generate`. Do not edit.',
    '# Every field of a KaiwoMonitor with its default; fields without one are commented out, with a placeholder.',
    `apiVersion: ${API_VERSION}`,
    `kind: ${KIND}`,
    'metadata:',
    '  name: full',
    ...comment(schema.description as string, ''),
    'spec:',
    ...fields(schema, schema.default as Record<string, unknown>, '  '),
    '',
  ].join('\n');
}
