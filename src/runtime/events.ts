import { createHash, randomUUID } from 'node:crypto';
import type { KubeConfig } from './kubeconfig.js';
import { isoSeconds, microTime } from '../api/time.js';
import type { Logger } from './log.js';
import { HttpStatusError } from './http.js';
import { rawJson } from './rawrequest.js';
import { TokenBucket } from './token-bucket.js';

export interface EventRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
}

export interface EventInput {
  regarding: EventRef;
  type: 'Normal' | 'Warning';
  reason: string;
  action: string;
  note: string;
}

/** Per-key token buckets in a bounded LRU (client-go's spam filter: 25, then 1 per 5 min; 4096 keys). */
export class KeyedLimiter {
  private readonly buckets = new Map<string, TokenBucket>();
  constructor(
    private readonly burst = 25,
    private readonly refillMs = 300_000,
    private readonly maxKeys = 4096,
  ) {}

  allow(key: string, now: number): boolean {
    let b = this.buckets.get(key);
    if (b) this.buckets.delete(key);
    else b = new TokenBucket(this.burst, this.refillMs, now);
    this.buckets.set(key, b);
    if (this.buckets.size > this.maxKeys) {
      const oldest = this.buckets.keys().next().value;
      if (oldest !== undefined) this.buckets.delete(oldest);
    }
    return b.take(now);
  }
}

/** What a series needs to PATCH its Event later; nothing of the Event's content is kept. */
interface Series {
  name: string;
  namespace: string;
  count: number;
  lastObserved: number;
  lastWritten: number;
  api: 'events.k8s.io' | 'core';
}

/** Object names (and so Event names) are at most 253 characters (DNS subdomain). */
export const MAX_NAME_LENGTH = 253;

/** A short fixed-size key for a long string (bounded memory per cached series and limiter entry). */
function digest(s: string, chars = 22): string {
  return createHash('sha256').update(s).digest('base64url').slice(0, chars);
}

/**
 * The name of a new Event about `objectName`: `<objectName>.<suffix>` like client-go, or, when that would be
 * longer than 253 characters, a readable prefix of the object name plus a hash of the whole name, so every valid
 * object name gets Events and different long names do not share a prefix-only name.
 */
export function eventName(objectName: string, suffix: string): string {
  const tail = `.${suffix}`;
  if (objectName.length + tail.length <= MAX_NAME_LENGTH) return `${objectName}${tail}`;
  const hash = createHash('sha256').update(objectName).digest('hex').slice(0, 10);
  const room = MAX_NAME_LENGTH - tail.length - hash.length - 1;
  const prefix = objectName.slice(0, Math.max(0, room)).replace(/[^a-z0-9]+$/, '');
  return `${prefix ? `${prefix}-` : ''}${hash}${tail}`.slice(0, MAX_NAME_LENGTH);
}

/** Series semantics of client-go tools/events: a repeat within 6 min joins the series; heartbeat 30 min. */
const SERIES_WINDOW_MS = 6 * 60_000;
const SERIES_HEARTBEAT_MS = 30 * 60_000;

export type EventOutcome = 'created' | 'series' | 'deduplicated' | 'dropped' | 'failed';

/**
 * Emits Kubernetes Events (events.k8s.io/v1, core/v1 when that API is not served) with reportingController
 * set, a per-(object, reason) rate limit with client-go's numbers, and series for repeats. Never throws.
 */
export class EventRecorder {
  private readonly limiter: KeyedLimiter;
  private readonly series = new Map<string, Series>();
  private api: 'events.k8s.io' | 'core' = 'events.k8s.io';

  constructor(
    private readonly kc: KubeConfig,
    private readonly opts: {
      controller: string;
      instance: string;
      log: Logger;
      burst?: number;
      refillMs?: number;
      now?: () => number;
      onOutcome?: (o: EventOutcome, reason: string) => void;
    },
  ) {
    this.limiter = new KeyedLimiter(opts.burst ?? 25, opts.refillMs ?? 300_000);
  }

  async emit(e: EventInput): Promise<EventOutcome> {
    const outcome = await this.emitInner(e).catch((err: unknown) => {
      this.opts.log.warn('failed to write event', { reason: e.reason, error: err });
      return 'failed' as const;
    });
    this.opts.onOutcome?.(outcome, e.reason);
    return outcome;
  }

  private async emitInner(e: EventInput): Promise<EventOutcome> {
    const now = (this.opts.now ?? Date.now)();
    const reason = e.reason.slice(0, 128);
    const action = e.action.slice(0, 128);
    const note = e.note.length > 1024 ? `${e.note.slice(0, 1023)}…` : e.note;
    const refKey = `${e.regarding.kind}/${e.regarding.namespace ?? ''}/${e.regarding.name}/${e.regarding.uid ?? ''}`;
    const key = digest(`${refKey}|${action}|${reason}|${e.type}`);
    const s = this.series.get(key);
    if (s && now - s.lastObserved < SERIES_WINDOW_MS) {
      s.count++;
      s.lastObserved = now;
      this.series.delete(key); // least recently used first
      this.series.set(key, s);
      if (s.count === 2 || now - s.lastWritten >= SERIES_HEARTBEAT_MS) {
        await this.patchSeries(s, now);
        s.lastWritten = now;
        return 'series';
      }
      return 'deduplicated';
    }
    if (!this.limiter.allow(digest(`${refKey}|${reason}`), now)) return 'dropped';
    const namespace = e.regarding.namespace ?? 'default';
    const name = eventName(e.regarding.name, `${now.toString(16)}${randomUUID().slice(0, 8)}`);
    const api = await this.create(namespace, name, e, reason, action, note, now);
    this.series.delete(key);
    this.series.set(key, { name, namespace, count: 1, lastObserved: now, lastWritten: now, api });
    if (this.series.size > 4096) {
      const oldest = this.series.keys().next().value;
      if (oldest !== undefined) this.series.delete(oldest);
    }
    return 'created';
  }

  private async create(
    namespace: string,
    name: string,
    e: EventInput,
    reason: string,
    action: string,
    note: string,
    now: number,
  ): Promise<'events.k8s.io' | 'core'> {
    const { uid, resourceVersion, apiVersion, kind, name: objName, namespace: objNs } = e.regarding;
    const ref = {
      apiVersion,
      kind,
      name: objName,
      ...(objNs ? { namespace: objNs } : {}),
      ...(uid ? { uid } : {}),
      ...(resourceVersion ? { resourceVersion } : {}),
    };
    if (this.api === 'events.k8s.io') {
      try {
        await rawJson(this.kc, {
          method: 'POST',
          path: `/apis/events.k8s.io/v1/namespaces/${namespace}/events`,
          body: {
            apiVersion: 'events.k8s.io/v1',
            kind: 'Event',
            metadata: { name, namespace },
            eventTime: microTime(new Date(now)),
            reportingController: this.opts.controller,
            reportingInstance: this.opts.instance,
            action,
            reason,
            note,
            type: e.type,
            regarding: ref,
          },
        });
        return 'events.k8s.io';
      } catch (err) {
        if (!(err instanceof HttpStatusError) || err.status !== 404 || err.body.includes('"namespaces"')) throw err;
        this.api = 'core'; // events.k8s.io not served: fall back
      }
    }
    const ts = isoSeconds(now);
    await rawJson(this.kc, {
      method: 'POST',
      path: `/api/v1/namespaces/${namespace}/events`,
      body: {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name, namespace },
        involvedObject: ref,
        reason,
        message: note,
        type: e.type,
        action,
        firstTimestamp: ts,
        lastTimestamp: ts,
        count: 1,
        source: { component: this.opts.controller },
        reportingComponent: this.opts.controller,
        reportingInstance: this.opts.instance,
      },
    });
    return 'core';
  }

  private async patchSeries(s: Series, now: number): Promise<void> {
    const path =
      s.api === 'core'
        ? `/api/v1/namespaces/${s.namespace}/events/${s.name}`
        : `/apis/events.k8s.io/v1/namespaces/${s.namespace}/events/${s.name}`;
    const body =
      s.api === 'core'
        ? { count: s.count, lastTimestamp: isoSeconds(now) }
        : { series: { count: s.count, lastObservedTime: microTime(new Date(now)) } };
    await rawJson(this.kc, { method: 'PATCH', path, body, contentType: 'application/merge-patch+json' });
  }
}
