import type { Schema } from './schema.js';

export type DeepPartial<T> = T extends (infer U)[] ? DeepPartial<U>[] : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

/**
 * Applies the schema's `default`s the way the API server does (structural defaulting): a missing property
 * with a default gets a deep copy of it, then defaulting recurses into objects and array items. Used where a
 * spec does not come from the API server (e.g. `kaiwo-monitor check -f`).
 */
export function applyDefaults<T>(schema: Schema, value: DeepPartial<T> | undefined): T {
  return walk(schema, value) as T;
}

function walk(schema: Schema, value: unknown): unknown {
  if (value === undefined || value === null) return value;
  if (Array.isArray(value)) {
    const items = schema.items as Schema | undefined;
    return items ? value.map((v) => walk(items, v)) : value;
  }
  if (typeof value !== 'object') return value;
  const props = schema.properties as Record<string, Schema> | undefined;
  if (!props) return value;
  const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const [key, sub] of Object.entries(props)) {
    if (out[key] === undefined && sub.default !== undefined) out[key] = structuredClone(sub.default);
    if (out[key] !== undefined) out[key] = walk(sub, out[key]);
  }
  return out;
}
