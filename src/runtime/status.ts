import type { KubeConfig } from './kubeconfig.js';
import { isRecord } from './objects.js';
import { HttpStatusError } from './http.js';
import { rawJson } from './rawrequest.js';

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
  if (!isRecord(from) || !isRecord(to)) return to === undefined ? null : to;
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

export interface WriteStatusOptions {
  /** PATCH attempts on 409 Conflict. Default 5. */
  attempts?: number;
  /**
   * Called when the API server rejects the status as invalid (422, or 400): returns a minimal status to write
   * instead, so the object never keeps a stale status that claims all is well.
   */
  rejected?: (message: string) => unknown;
}

export interface WriteStatusResult {
  written: boolean;
  object?: Stored;
  /** The status the object has now: `desired`, or the `rejected` fallback. */
  status: unknown;
  /** The API server's message when `desired` was rejected. */
  rejected?: string;
}

/**
 * Writes `desired` to the /status subresource with a merge patch carrying the resourceVersion it was computed
 * against, only when it differs from `stored`. On 409 Conflict it re-reads the object and retries with a fresh
 * diff (at most `attempts` times). When the API server rejects the status as invalid, writes the `rejected`
 * fallback the same way (if given; otherwise the error is thrown).
 */
export async function writeStatus(
  kc: KubeConfig,
  target: StatusTarget,
  stored: Stored,
  desired: unknown,
  opts: WriteStatusOptions = {},
): Promise<WriteStatusResult> {
  const attempts = opts.attempts ?? 5;
  try {
    return { ...(await patchStatus(kc, target, stored, desired, attempts)), status: desired };
  } catch (err) {
    if (!(err instanceof RejectedError)) throw err;
    if (!opts.rejected) throw err.cause;
    const fallback = opts.rejected(err.apiMessage);
    try {
      return { ...(await patchStatus(kc, target, err.current, fallback, attempts)), status: fallback, rejected: err.apiMessage };
    } catch (again) {
      throw again instanceof RejectedError ? again.cause : again;
    }
  }
}

class RejectedError extends Error {
  constructor(
    readonly apiMessage: string,
    readonly current: Stored,
    override readonly cause: HttpStatusError,
  ) {
    super(cause.message, { cause });
  }
}

async function patchStatus(
  kc: KubeConfig,
  target: StatusTarget,
  stored: Stored,
  desired: unknown,
  attempts: number,
): Promise<{ written: boolean; object?: Stored }> {
  let current = stored;
  for (let i = 0; i < attempts; i++) {
    const diff = mergePatch(current.status ?? {}, desired);
    if (diff === undefined) return { written: false };
    const body = { metadata: { resourceVersion: current.metadata.resourceVersion }, status: diff };
    try {
      const object = await rawJson<Stored>(kc, {
        method: 'PATCH',
        path: `${target.objectPath}/status`,
        body,
        contentType: 'application/merge-patch+json',
      });
      return { written: true, object };
    } catch (err) {
      if (err instanceof HttpStatusError && (err.status === 422 || err.status === 400))
        throw new RejectedError(apiMessage(err), current, err);
      if (!(err instanceof HttpStatusError) || err.status !== 409) throw err;
      current = await rawJson<Stored>(kc, { method: 'GET', path: target.objectPath });
    }
  }
  throw new Error(`status of ${target.objectPath}: still conflicting after ${attempts} attempts`);
}

/** The message of a Kubernetes Status error body, else the start of the body. */
function apiMessage(err: HttpStatusError): string {
  try {
    const m = (JSON.parse(err.body) as { message?: unknown }).message;
    if (typeof m === 'string') return m;
  } catch {
    /* not JSON */
  }
  return err.body.slice(0, 1024);
}
