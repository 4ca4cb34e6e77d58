import type { KubeConfig } from './kubeconfig.js';
import { Backoff, sleep } from './backoff.js';
import type { Logger } from './log.js';
import { type KubeObject, objectKey, stripBulk } from './objects.js';
import { observationOf, recordObservation } from './observed.js';
import { internObject } from './intern.js';
import { sameContent } from './same-content.js';
import { rawRequest } from './rawrequest.js';
import { HttpStatusError } from './http.js';
import { watchOnce } from './watch.js';

export type InformerState = 'pending' | 'synced' | 'absent' | 'failing';
export type InformerEvent = 'add' | 'update' | 'delete';
export type InformerHandler = (type: InformerEvent, obj: KubeObject, old?: KubeObject) => void;

export interface InformerOptions {
  /** Collection path, e.g. /apis/kueue.x-k8s.io/v1beta2/clusterqueues or /api/v1/namespaces/x/pods. */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  /**
   * Applied to every object before caching, after managedFields and the last-applied annotation are dropped
   * (always: their timestamps move on every write, so a kept managedFields makes every heartbeat an update).
   */
  transform?: (obj: KubeObject) => KubeObject;
  /** Updates (after transform) that are cached without telling the handlers; list() still shows them. */
  quiet?: (old: KubeObject, obj: KubeObject) => boolean;
  log: Logger;
  /** Retry period while the resource is not served (CRD not installed). Default 30 s. */
  absentRetryMs?: number;
  backoff?: Backoff;
  pageSize?: number;
  /** Server-side watch timeout range in seconds (randomised, like client-go). Default 300–600. */
  watchTimeoutSeconds?: [number, number];
  /**
   * Start with a streaming list (a watch with sendInitialEvents=true, the WatchList feature client-go uses) instead
   * of paged LISTs; falls back to paged LISTs for good when the server rejects it (422/400: a server older than
   * 1.27, or 1.33 with the gate off). Default true.
   */
  streamingList?: boolean;
}

class GoneError extends Error {}
/** The server does not serve streaming lists (sendInitialEvents): fall back to paged LISTs. */
class StreamingRejected extends Error {}

/**
 * A list-then-watch cache of one collection, in the manner of client-go's reflector: a streaming list (a watch
 * with sendInitialEvents; a paged list where the server has none), watch from its resourceVersion with bookmarks,
 * relist on 410 Gone (emitting deletes for vanished objects),
 * relist with exponential backoff on any other error (synced again as soon as a list succeeds), and a 404 (CRD
 * not installed) noted as `absent` and retried periodically. Records when each object was seen to change
 * (observed.ts). Never throws past start().
 */
export class Informer {
  state: InformerState = 'pending';
  lastError: string | undefined;
  /** The HTTP status of lastError, when the API server answered one. */
  lastErrorStatus: number | undefined;
  private readonly cache = new Map<string, KubeObject>();
  /** Bumped on every change of the cached content (not on no-op updates); quiet updates bump it without telling anyone. */
  revision = 0;
  private listed: { revision: number; objects: readonly KubeObject[] } | undefined;
  private readonly handlers: InformerHandler[] = [];
  private readonly stateHandlers: ((s: InformerState) => void)[] = [];
  private controller: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private resourceVersion = '';
  /** Objects of the first successful list are first sightings; any later appearance or change is a change. */
  private listedOnce = false;
  /** Whether to try a streaming list next time the cache must be rebuilt (cleared when the server rejects it). */
  private streaming: boolean;
  private readonly backoff: Backoff;
  private readonly transform: (obj: KubeObject) => KubeObject;
  /** The projection alone, before its strings are interned. */
  private readonly project: (obj: KubeObject) => KubeObject;

  constructor(
    private readonly kc: KubeConfig,
    readonly opts: InformerOptions,
  ) {
    this.backoff = opts.backoff ?? new Backoff(1000, 30_000);
    const transform = opts.transform;
    this.project = transform ? (o) => transform(stripBulk(o)) : stripBulk;
    this.transform = (o) => internObject(this.project(o));
    this.streaming = opts.streamingList ?? true;
  }

  /** How the cache is (re)built: 'stream' (watch with initial events) or 'pages' (paged LIST). */
  get listMode(): 'stream' | 'pages' {
    return this.streaming ? 'stream' : 'pages';
  }

  get synced(): boolean {
    return this.state === 'synced' || this.state === 'absent';
  }

  on(handler: InformerHandler): void {
    this.handlers.push(handler);
  }

  onState(handler: (s: InformerState) => void): void {
    this.stateHandlers.push(handler);
  }

  /** The cached objects; the same array (by identity) until the cache changes, so callers can memoise on it. */
  list(): readonly KubeObject[] {
    if (this.listed?.revision !== this.revision)
      this.listed = { revision: this.revision, objects: Object.freeze([...this.cache.values()]) };
    return this.listed.objects;
  }

  get(key: string): KubeObject | undefined {
    return this.cache.get(key);
  }

  start(): void {
    if (this.loop) return;
    this.controller = new AbortController();
    this.loop = this.run(this.controller.signal);
  }

  async stop(): Promise<void> {
    this.controller?.abort();
    await this.loop;
    this.loop = undefined;
  }

  private setState(s: InformerState, error?: string, status?: number): void {
    this.lastError = error;
    this.lastErrorStatus = error === undefined ? undefined : status;
    if (s === this.state) return;
    this.state = s;
    for (const h of this.stateHandlers) h(s);
  }

  private emit(type: InformerEvent, obj: KubeObject, old?: KubeObject): void {
    this.revision++;
    for (const h of this.handlers) {
      try {
        h(type, obj, old);
      } catch (err) {
        this.opts.log.error('informer handler failed', { path: this.opts.path, error: err });
      }
    }
  }

  /**
   * Records when this process saw `obj` (replacing `old` in the cache) first and last change; `same`: the caller
   * found it the same as `old` (same resourceVersion or content), so the comparison is made once per event.
   */
  private observe(obj: KubeObject, old: KubeObject | undefined, same: boolean): void {
    const prev = old ? observationOf(old) : undefined;
    if (old && prev && same) {
      recordObservation(obj, prev);
      return;
    }
    const now = Date.now();
    recordObservation(obj, old || this.listedOnce ? { firstSeen: prev?.firstSeen ?? now, changedAt: now } : { firstSeen: now });
  }

  private query(extra: Record<string, string>): string {
    const q = new URLSearchParams(extra);
    if (this.opts.labelSelector) q.set('labelSelector', this.opts.labelSelector);
    if (this.opts.fieldSelector) q.set('fieldSelector', this.opts.fieldSelector);
    return `${this.opts.path}?${q.toString()}`;
  }

  private async run(signal: AbortSignal): Promise<void> {
    const stopped = (): boolean => signal.aborted;
    while (!stopped()) {
      try {
        if (!this.resourceVersion && !this.streaming) await this.relist(signal);
        this.backoff.reset();
        await this.watch(signal, !this.resourceVersion);
      } catch (err) {
        if (stopped()) break;
        if (err instanceof StreamingRejected) {
          this.streaming = false;
          this.opts.log.info('streaming list not served; using paged lists', { path: this.opts.path, error: err.message });
          continue;
        }
        if (err instanceof GoneError || (err instanceof HttpStatusError && err.status === 410)) {
          this.resourceVersion = '';
          continue;
        }
        if (err instanceof HttpStatusError && err.status === 404) {
          // The resource is not served: CRD absent. Forget what we had and look again later.
          this.resourceVersion = '';
          for (const obj of this.cache.values()) this.emit('delete', obj);
          this.cache.clear();
          if (this.state !== 'absent') this.opts.log.info('resource not served; will retry', { path: this.opts.path });
          this.setState('absent', err.message);
          await sleep(this.opts.absentRetryMs ?? 30_000, signal);
          continue;
        }
        const message = err instanceof Error ? err.message : String(err);
        const delay = this.backoff.next();
        if (this.state !== 'failing')
          this.opts.log.warn('list/watch failed; retrying with backoff', { path: this.opts.path, error: message, retryInMs: delay });
        this.setState(
          this.state === 'synced' || this.state === 'failing' ? 'failing' : this.state,
          message,
          err instanceof HttpStatusError ? err.status : undefined,
        );
        // Like client-go's reflector, list again after a failure rather than resume the watch: the cache is known
        // current (synced, /readyz ok) as soon as that list succeeds, not only when the next watch event arrives.
        this.resourceVersion = '';
        await sleep(delay, signal);
      }
    }
  }

  private async relist(signal: AbortSignal): Promise<void> {
    const fresh = new Map<string, KubeObject>();
    let cont = '';
    let rv = '';
    do {
      const extra: Record<string, string> = { limit: String(this.opts.pageSize ?? 500) };
      if (cont) extra.continue = cont;
      const res = await rawRequest(this.kc, { method: 'GET', path: this.query(extra), timeoutMs: 60_000, signal });
      if (signal.aborted) return;
      if (res.status === 410 && cont) {
        cont = '';
        fresh.clear();
        continue; // continue token expired: start the list over
      }
      if (res.status < 200 || res.status >= 300)
        throw new HttpStatusError(res.status, `list ${this.opts.path}: HTTP ${res.status}: ${res.body.slice(0, 300)}`);
      const list = JSON.parse(res.body) as { metadata?: { resourceVersion?: string; continue?: string }; items?: KubeObject[] };
      for (const item of list.items ?? []) {
        const obj = this.transform(item);
        fresh.set(objectKey(obj), obj);
      }
      cont = list.metadata?.continue ?? '';
      rv = list.metadata?.resourceVersion ?? '';
    } while (cont);
    this.replaceAll(fresh, rv);
  }

  /** Makes the cache exactly `fresh` (a complete list at `rv`): deletes, adds and updates emitted; synced. */
  private replaceAll(fresh: Map<string, KubeObject>, rv: string): void {
    for (const [key, old] of this.cache) {
      if (!fresh.has(key)) {
        this.cache.delete(key);
        this.emit('delete', old);
      }
    }
    for (const [key, obj] of fresh) {
      const old = this.cache.get(key);
      const same = old !== undefined && (old.metadata.resourceVersion === obj.metadata.resourceVersion || sameContent(old, obj));
      this.observe(obj, old, same);
      this.cache.set(key, obj);
      if (!old) this.emit('add', obj);
      else if (!same) this.emit('update', obj, old);
    }
    this.resourceVersion = rv;
    this.listedOnce = true;
    this.setState('synced');
  }

  /**
   * One watch. With `initial` it is a streaming list: the server first sends every object as ADDED, then a BOOKMARK
   * annotated k8s.io/initial-events-end; those objects replace the cache at that bookmark (like a relist), and the
   * same stream goes on with changes. A stream that ends before that bookmark proves nothing: the caller retries.
   */
  private async watch(signal: AbortSignal, initial: boolean): Promise<void> {
    const [lo, hi] = this.opts.watchTimeoutSeconds ?? [300, 600];
    const timeoutSeconds = Math.floor(lo + Math.random() * (hi - lo));
    const url = this.query({
      watch: '1',
      allowWatchBookmarks: 'true',
      timeoutSeconds: String(timeoutSeconds),
      ...(initial ? { sendInitialEvents: 'true', resourceVersionMatch: 'NotOlderThan' } : { resourceVersion: this.resourceVersion }),
    });
    const seen = { gone: false };
    let fresh = initial ? new Map<string, KubeObject>() : undefined;
    const done = watchOnce(
      this.kc,
      url,
      (ev) => {
        if (ev.type === 'ERROR') {
          if (ev.object.code === 410) seen.gone = true;
          else throw new HttpStatusError(ev.object.code ?? 500, `watch ${this.opts.path}: ${ev.object.message ?? 'error event'}`);
          return;
        }
        const rv = ev.object.metadata.resourceVersion;
        if (ev.type === 'BOOKMARK') {
          if (fresh && ev.object.metadata.annotations?.['k8s.io/initial-events-end'] === 'true') {
            this.replaceAll(fresh, rv ?? '');
            fresh = undefined;
          } else if (rv && !fresh) this.resourceVersion = rv;
          return;
        }
        if (fresh) {
          const obj = this.transform(ev.object);
          if (ev.type === 'DELETED') fresh.delete(objectKey(obj));
          else fresh.set(objectKey(obj), obj);
          return;
        }
        if (rv) this.resourceVersion = rv;
        const projected = this.project(ev.object);
        const key = objectKey(projected);
        const old = this.cache.get(key);
        const unchanged = ev.type !== 'DELETED' && old !== undefined && sameContent(old, projected);
        if (ev.type === 'MODIFIED' && old && unchanged) {
          // An update the projection cannot see (a kubelet heartbeat, a field no check reads) changes nothing: the
          // cached object stays (with its interned strings and observation), only its resourceVersion moves.
          old.metadata.resourceVersion = projected.metadata.resourceVersion;
          this.backoff.reset();
          if (this.state === 'failing') this.setState('synced');
          return;
        }
        const obj = internObject(projected);
        if (ev.type === 'DELETED') {
          this.cache.delete(key);
          this.emit('delete', obj);
        } else {
          this.observe(obj, old, unchanged || old?.metadata.resourceVersion === obj.metadata.resourceVersion);
          this.cache.set(key, obj);
          // A quiet update (a fresh Lease renewed) changes the cache but wakes nobody.
          if (old && this.opts.quiet?.(old, obj)) this.revision++;
          else if (!old || !unchanged) this.emit(old ? 'update' : 'add', obj, old);
        }
        this.backoff.reset();
        if (this.state === 'failing') this.setState('synced');
      },
      { idleMs: (timeoutSeconds + 30) * 1000, signal },
    );
    try {
      await done;
    } catch (err) {
      if (initial && fresh && err instanceof HttpStatusError && (err.status === 400 || err.status === 422))
        throw new StreamingRejected(err.message);
      throw err;
    }
    if (seen.gone) throw new GoneError('resourceVersion too old');
    if (fresh) {
      if (signal.aborted) return;
      throw new Error(`watch ${this.opts.path}: the stream ended before its initial events were complete`);
    }
    if (this.state === 'failing') this.setState('synced');
  }
}
