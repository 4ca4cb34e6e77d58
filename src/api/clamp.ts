import type { Schema } from './schema.js';

/** The int64 range as doubles whose JSON text stays inside it (2^63 itself prints as 9223372036854776000). */
export const MAX_INT64_DOUBLE = 2 ** 63 - 1024;
export const MIN_INT64_DOUBLE = -MAX_INT64_DOUBLE;
const INT32 = [-(2 ** 31), 2 ** 31 - 1] as const;

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Cuts `s` to at most `max` characters without leaving half a surrogate pair; marks the cut with "…". */
export function truncateString(s: string, max: number): string {
  if (s.length <= max) return s;
  if (max <= 0) return '';
  let cut = s.slice(0, max - 1);
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}…`;
}

function clampInteger(v: number, schema: Schema): number | undefined {
  if (Number.isNaN(v)) return undefined;
  const [lo, hi] = schema.format === 'int32' ? INT32 : [MIN_INT64_DOUBLE, MAX_INT64_DOUBLE];
  const min = typeof schema.minimum === 'number' ? Math.max(lo, schema.minimum) : lo;
  const max = typeof schema.maximum === 'number' ? Math.min(hi, schema.maximum) : hi;
  return Math.min(max, Math.max(min, Math.trunc(v)));
}

/**
 * A copy of `value` that fits `schema` (a structural OpenAPI v3 schema as in src/api/schema.ts) where that can be
 * done by cutting: strings are truncated to maxLength, arrays to maxItems and objects to maxProperties; integers
 * are truncated, clamped to minimum/maximum and their format's range (NaN dropped); numbers are made finite;
 * values of the wrong type, enum values not in the enum and fields the schema does not know (the API server
 * would prune them) are dropped.
 * What cannot be fixed by cutting (patterns, minLength, required fields) is left for the API server to reject.
 * Returns undefined when the value itself must be dropped.
 */
export function sanitize(value: unknown, schema: Schema): unknown {
  if (value === undefined) return undefined;
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) return undefined;
  switch (schema.type) {
    case 'string': {
      if (typeof value !== 'string') return undefined;
      return typeof schema.maxLength === 'number' ? truncateString(value, schema.maxLength) : value;
    }
    case 'integer':
      return typeof value === 'number' ? clampInteger(value, schema) : undefined;
    case 'number':
      if (typeof value !== 'number' || Number.isNaN(value)) return undefined;
      return Math.min(Number.MAX_VALUE, Math.max(-Number.MAX_VALUE, value));
    case 'boolean':
      return typeof value === 'boolean' ? value : undefined;
    case 'array': {
      if (!Array.isArray(value)) return undefined;
      const items = isPlainObject(schema.items) ? schema.items : undefined;
      const max = typeof schema.maxItems === 'number' ? schema.maxItems : Infinity;
      const out: unknown[] = [];
      for (const v of value as unknown[]) {
        if (out.length >= max) break;
        const s = items ? sanitize(v, items) : v;
        if (s !== undefined) out.push(s);
      }
      return out;
    }
    case 'object': {
      if (!isPlainObject(value)) return undefined;
      const props = isPlainObject(schema.properties) ? schema.properties : {};
      const extra = isPlainObject(schema.additionalProperties) ? schema.additionalProperties : undefined;
      const keepUnknown = schema.additionalProperties === true || schema['x-kubernetes-preserve-unknown-fields'] === true;
      const max = typeof schema.maxProperties === 'number' ? schema.maxProperties : Infinity;
      const out: Record<string, unknown> = {};
      let n = 0;
      for (const [k, v] of Object.entries(value)) {
        if (n >= max) break;
        const sub = props[k];
        const s = isPlainObject(sub) ? sanitize(v, sub) : extra ? sanitize(v, extra) : keepUnknown ? v : undefined;
        if (s === undefined) continue;
        out[k] = s;
        n++;
      }
      return out;
    }
    default:
      return value;
  }
}
