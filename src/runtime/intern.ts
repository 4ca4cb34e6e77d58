import type { KubeObject } from './objects.js';

/**
 * String interning for cached objects. JSON.parse gives every object its own copy of each string, and 50,000
 * Workloads repeat the same few: namespaces, queue names, condition types, reasons, messages, timestamps of one
 * second, node label keys and values. Keeping one copy is most of the per-object saving of a compact cache.
 * Bounded: at most MAX_ENTRIES strings of at most MAX_LENGTH characters are remembered; when the table is full it
 * starts over (strings already shared stay shared), so hostile input can cost at most a few MiB here.
 */
const MAX_ENTRIES = 65_536;
const MAX_LENGTH = 256;
let table = new Map<string, string>();

export function intern(s: string): string {
  if (s.length > MAX_LENGTH) return s;
  const hit = table.get(s);
  if (hit !== undefined) return hit;
  if (table.size >= MAX_ENTRIES) table = new Map();
  table.set(s, s);
  return s;
}

/** Metadata fields unique per object: interning them would only fill the table. */
const UNIQUE = new Set(['uid', 'resourceVersion', 'name']);

/**
 * Interns the string values of a cached object in place (keys are interned by V8 already), except
 * metadata.uid, resourceVersion and name. Iterative; visits at most `budget` values.
 */
export function internObject<T extends KubeObject>(obj: T, budget = 20_000): T {
  const stack: unknown[] = [];
  const meta = obj.metadata as Record<string, unknown>;
  for (const [k, v] of Object.entries(meta)) {
    if (UNIQUE.has(k)) continue;
    if (typeof v === 'string') meta[k] = intern(v);
    else stack.push(v);
  }
  for (const [k, v] of Object.entries(obj)) if (k !== 'metadata') stack.push(v);
  let visited = 0;
  for (let x = stack.pop(); x !== undefined; x = stack.pop()) {
    if (++visited > budget) break;
    if (typeof x !== 'object' || x === null) continue;
    if (Array.isArray(x)) {
      for (let i = 0; i < x.length; i++) {
        const v: unknown = x[i];
        if (typeof v === 'string') x[i] = intern(v);
        else stack.push(v);
      }
      continue;
    }
    const o = x as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      const v = o[k];
      if (typeof v === 'string') o[k] = intern(v);
      else stack.push(v);
    }
  }
  return obj;
}
