/**
 * Offline validation of a value against the CRD's structural OpenAPI schema (src/api/schema.ts), for
 * `kaiwo-monitor check -f` when the KaiwoMonitor CRD is not installed. It checks what the API server's OpenAPI
 * validation checks (types, unknown fields, enums, patterns, lengths, bounds, required, item and property
 * counts, set uniqueness) and words errors like it; CEL rules (x-kubernetes-validations) need a CEL evaluator
 * and are only counted, so the caller can say they were not checked.
 */
import type { Schema } from '../api/schema.js';

export interface SchemaResult {
  errors: string[];
  /** CEL rules that apply to the value and were not evaluated. */
  celRulesSkipped: number;
}

/** The value in an error message: strings quoted, objects and arrays by type. */
function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return typeOf(v);
}

/** Length in code points, as the API server counts maxLength (utf8.RuneCountInString). */
const runes = (s: string): number => Array.from(s).length;

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function typeMatches(want: string, v: unknown): boolean {
  const got = typeOf(v);
  return got === want || (want === 'number' && got === 'integer');
}

function walk(schema: Schema, v: unknown, path: string, out: SchemaResult): void {
  const bad = (what: string) => out.errors.push(`${path}: Invalid value: ${show(v)}: ${what}`);
  out.celRulesSkipped += (schema['x-kubernetes-validations'] as unknown[] | undefined)?.length ?? 0;
  const type = schema.type as string | undefined;
  if (type && !typeMatches(type, v)) {
    out.errors.push(`${path}: Invalid value: ${show(v)}: ${path} in body must be of type ${type}: ${JSON.stringify(typeOf(v))}`);
    return;
  }
  const en = schema.enum as unknown[] | undefined;
  if (en && !en.includes(v))
    out.errors.push(`${path}: Unsupported value: ${show(v)}: supported values: ${en.map((e) => JSON.stringify(e)).join(', ')}`);
  if (typeof v === 'string') {
    const pattern = schema.pattern as string | undefined;
    if (pattern && !new RegExp(pattern, 'u').test(v)) bad(`${path} in body should match '${pattern}'`);
    const max = schema.maxLength as number | undefined;
    const min = schema.minLength as number | undefined;
    if (max !== undefined && runes(v) > max) out.errors.push(`${path}: Too long: may not be more than ${max} bytes`);
    if (min !== undefined && runes(v) < min) bad(`${path} in body should be at least ${min} chars long`);
  }
  if (typeof v === 'number') {
    const max = schema.maximum as number | undefined;
    const min = schema.minimum as number | undefined;
    if (max !== undefined && v > max) bad(`${path} in body should be less than or equal to ${max}`);
    if (min !== undefined && v < min) bad(`${path} in body should be greater than or equal to ${min}`);
  }
  if (Array.isArray(v)) {
    const maxItems = schema.maxItems as number | undefined;
    if (maxItems !== undefined && v.length > maxItems)
      out.errors.push(`${path}: Too many: ${v.length}: must have at most ${maxItems} items`);
    if (schema['x-kubernetes-list-type'] === 'set') {
      v.forEach((x, i) => {
        if (v.findIndex((y) => JSON.stringify(y) === JSON.stringify(x)) < i) out.errors.push(`${path}[${i}]: Duplicate value: ${show(x)}`);
      });
    }
    const items = schema.items as Schema | undefined;
    if (items)
      v.forEach((x, i) => {
        walk(items, x, `${path}[${i}]`, out);
      });
  }
  if (typeOf(v) === 'object') objectChecks(schema, v as Record<string, unknown>, path, out);
}

function objectChecks(schema: Schema, v: Record<string, unknown>, path: string, out: SchemaResult): void {
  const props = schema.properties as Record<string, Schema> | undefined;
  const additional = schema.additionalProperties as Schema | boolean | undefined;
  for (const key of (schema.required as string[] | undefined) ?? []) {
    if (!(key in v)) out.errors.push(`${path}.${key}: Required value`);
  }
  const maxProps = schema.maxProperties as number | undefined;
  if (maxProps !== undefined && Object.keys(v).length > maxProps)
    out.errors.push(`${path}: Too many: ${Object.keys(v).length}: must have at most ${maxProps} items`);
  for (const [key, value] of Object.entries(v)) {
    const sub = props?.[key] ?? (typeof additional === 'object' ? additional : undefined);
    if (sub) walk(sub, value, `${path}.${key}`, out);
    else if (props && additional === undefined && schema['x-kubernetes-preserve-unknown-fields'] !== true)
      out.errors.push(`unknown field "${path}.${key}"`);
  }
}

/** Validates `value` (found at `path`, e.g. "spec") against `schema`. */
export function validateAgainstSchema(schema: Schema, value: unknown, path: string): SchemaResult {
  const out: SchemaResult = { errors: [], celRulesSkipped: 0 };
  walk(schema, value, path, out);
  return out;
}
