import type { KubeConfig } from '@kubernetes/client-node';
import { PatchStrategy } from '@kubernetes/client-node';
import { rawJson, RawRequestError } from './rawrequest.js';

/** Deep equality of JSON values (key order ignored). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => jsonEqual(v, b[i]));
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao).filter((k) => ao[k] !== undefined);
  const bk = Object.keys(bo).filter((k) => bo[k] !== undefined);
  return ak.length === bk.length && ak.every((k) => jsonEqual(ao[k], bo[k]));
}

/**
 * RFC 7386 merge patch turning `from` into `to`: changed keys set, removed keys null, objects recursed,
 * arrays and scalars replaced whole. Undefined when nothing differs.
 */
export function mergePatch(from: unknown, to: unknown): unknown {
  if (jsonEqual(from, to)) return undefined;
  const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (!isObj(from) || !isObj(to)) return to === undefined ? null : to;
  const patch: Record<string, unknown> = {};
  for (const k of Object.keys(from)) if (from[k] !== undefined && to[k] === undefined) patch[k] = null;
  for (const [k, v] of Object.entries(to)) {
    if (v === undefined) continue;
    const p = mergePatch(from[k], v);
    if (p !== undefined) patch[k] = p;
  }
  return patch;
}

export interface StatusTarget {
  /** e.g. /apis/monitoring.kaiwo.silogen.ai/v1alpha1/kaiwomonitors/default */
  objectPath: string;
}

interface Stored {
  metadata: { resourceVersion?: string; generation?: number };
  status?: unknown;
}

/**
 * Writes `desired` to the /status subresource with a merge patch carrying the resourceVersion it was computed
 * against, only when it differs from `stored`. On 409 Conflict it re-reads the object and retries with a fresh
 * diff (at most `attempts` times). Returns the number of PATCH requests that succeeded (0 or 1).
 */
export async function writeStatus(
  kc: KubeConfig,
  target: StatusTarget,
  stored: Stored,
  desired: unknown,
  attempts = 5,
): Promise<{ written: boolean; object?: Stored }> {
  let current = stored;
  for (let i = 0; i < attempts; i++) {
    const diff = mergePatch(current.status ?? {}, desired);
    if (diff === undefined) return { written: false };
    const body = { metadata: { resourceVersion: current.metadata.resourceVersion }, status: diff };
    try {
      const object = await rawJson<Stored>(kc, { method: 'PATCH', path: `${target.objectPath}/status`, body, contentType: PatchStrategy.MergePatch });
      return { written: true, object };
    } catch (err) {
      if (!(err instanceof RawRequestError) || err.status !== 409) throw err;
      current = await rawJson<Stored>(kc, { method: 'GET', path: target.objectPath });
    }
  }
  throw new Error(`status of ${target.objectPath}: still conflicting after ${attempts} attempts`);
}
