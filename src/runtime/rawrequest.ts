import type { KubeConfig } from './kubeconfig.js';
import { fetchText, HttpError, HttpStatusError, isOk } from './http.js';

/** KAIWO_MONITOR_TRACE_REQUESTS=1: each request's time, status, size and path on stderr (for `why` and benchmarks). */
const TRACE = process.env.KAIWO_MONITOR_TRACE_REQUESTS === '1';

export interface RawResponse {
  status: number;
  body: string;
}

export interface RawRequestOptions {
  method: string;
  path: string;
  body?: unknown;
  contentType?: string;
  timeoutMs?: number;
  maxBytes?: number;
  signal?: AbortSignal;
  /** Not held by the request limit (leader election: like controller-runtime's separate client for it). */
  unlimited?: boolean;
}

/**
 * A plain HTTP(S) request to the API server with the KubeConfig's TLS and credentials, over the one transport
 * (deadline, size cap, socket always destroyed on failure). Resolves with any status; a non-2xx body is cut at
 * 64 KiB. Waits for the KubeConfig's request rate limit first. The body is sent as given, byte for byte:
 * client-node's typed serializers re-encode known kinds and drop or rename keys they do not model (e.g. a CRD's
 * x-kubernetes-* schema keys).
 */
export async function rawRequest(kc: KubeConfig, opts: RawRequestOptions): Promise<RawResponse> {
  const started = TRACE ? performance.now() : 0;
  const payload = opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
  const res = await fetchText({
    kubeconfig: kc,
    url: opts.path,
    method: opts.method,
    headers: { Accept: 'application/json', ...(payload !== undefined ? { 'Content-Type': opts.contentType ?? 'application/json' } : {}) },
    ...(payload !== undefined ? { body: payload } : {}),
    timeoutMs: opts.timeoutMs ?? 30_000,
    maxBytes: opts.maxBytes ?? 64 * 1024 * 1024,
    errorBodyBytes: 64 * 1024,
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.unlimited ? { unlimited: true } : {}),
  });
  if (TRACE) {
    process.stderr.write(`${(performance.now() - started).toFixed(0)} ms ${res.status} ${res.body.length} B ${opts.method} ${opts.path}\n`);
  }
  return { status: res.status, body: res.body };
}

/** A non-2xx answer of the API server as HttpStatusError `<what>: HTTP <status>: <its Status message, or the body's start>`. */
export function apiStatusError(what: string, res: RawResponse): HttpStatusError {
  let message = res.body.slice(0, 500);
  try {
    const m = (JSON.parse(res.body) as { message?: unknown } | null)?.message;
    if (typeof m === 'string') message = m.slice(0, 1000);
  } catch {
    /* not JSON */
  }
  return new HttpStatusError(res.status, `${what}: HTTP ${res.status}: ${message}`, res.body);
}

/** rawRequest that rejects with HttpStatusError on a non-2xx status and parses the JSON body. */
export async function rawJson<T>(kc: KubeConfig, opts: RawRequestOptions): Promise<T> {
  const res = await rawRequest(kc, opts);
  if (!isOk(res.status)) throw apiStatusError(`${opts.method} ${opts.path}`, res);
  try {
    return JSON.parse(res.body) as T;
  } catch {
    throw new HttpError('Invalid', `${opts.method} ${opts.path}: the answer is not JSON`, res.status);
  }
}
