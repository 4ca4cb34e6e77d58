import type { KubeConfig } from './kubeconfig.js';
import { fetchLines, HttpError, isOk } from './http.js';
import type { KubeObject } from './objects.js';
import { apiStatusError } from './rawrequest.js';

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: KubeObject & { code?: number; message?: string; reason?: string };
}

/** Largest single watch event accepted; a longer line fails the stream (no unbounded buffering). */
const MAX_LINE = 16 * 1024 * 1024;

/**
 * One watch request, streamed over the transport: calls onEvent per JSON line until the server ends the stream
 * (resolves), the connection fails or idles past `idleMs` (rejects), or `signal` aborts (resolves). Non-2xx
 * rejects with HttpStatusError; an error thrown by onEvent ends the stream and rejects with that error. The
 * request waits for the KubeConfig's rate limit; the events it streams do not.
 */
export async function watchOnce(
  kc: KubeConfig,
  url: string,
  onEvent: (e: WatchEvent) => void,
  opts: { idleMs: number; signal: AbortSignal },
): Promise<void> {
  const path = url.split('?')[0] ?? url;
  const onLine = (raw: string) => {
    const line = raw.trim();
    if (!line) return;
    let ev: unknown;
    try {
      ev = JSON.parse(line);
    } catch {
      throw new HttpError('Invalid', `watch ${path}: malformed event`);
    }
    const e = ev as { type?: unknown; object?: { metadata?: unknown } | null } | null;
    if (typeof e !== 'object' || e === null || typeof e.type !== 'string' || typeof e.object !== 'object' || e.object === null) {
      throw new HttpError('Invalid', `watch ${path}: event without type or object`);
    }
    if (e.type !== 'ERROR' && (typeof e.object.metadata !== 'object' || e.object.metadata === null)) {
      throw new HttpError('Invalid', `watch ${path}: ${e.type} event without metadata`);
    }
    onEvent(e as WatchEvent);
  };
  try {
    const res = await fetchLines(
      { kubeconfig: kc, url, headers: { Accept: 'application/json' }, idleMs: opts.idleMs, maxBytes: Infinity, signal: opts.signal },
      onLine,
      { maxLineChars: MAX_LINE, longLines: 'fail' },
    );
    if (!isOk(res.status)) throw apiStatusError(`watch ${path}`, res);
  } catch (err) {
    if (opts.signal.aborted) return;
    throw err;
  }
}
