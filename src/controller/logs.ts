import type { KubeConfig } from '../runtime/kubeconfig.js';
import type { BoundCheck, LogErrorLine, LogSpec, LogStreamView, LogView, SourceView } from '../checks/types.js';
import { isoSeconds } from '../api/time.js';
import { Backoff, sleep } from '../runtime/backoff.js';
import { fetchLines, HttpError, isOk } from '../runtime/http.js';
import type { Logger } from '../runtime/log.js';
import type { KubeObject } from '../runtime/objects.js';
import { parseLogLine, splitTimestamp } from '../sources/zaplog.js';

/**
 * Container log streams for the checks that declare logs() (the logs check): like ScrapeManager for /metrics, a
 * small source kind of its own, shared between monitors naming the same stream. Each stream is one
 * `GET /api/v1/namespaces/NS/pods/POD/log?container=C&follow=true&timestamps=true` over the one HTTP transport: it
 * reads back `windowMs` on start (sinceSeconds), reconnects after a drop from its last line (sinceTime; lines
 * already counted are skipped by their timestamp), rotates every ROTATE_MS (so a silently dead connection is
 * noticed) and reads at most maxBytesPerSecond. It keeps per-second counters of error lines and "Reconciler
 * error" lines by controller within the window and the last few error lines (redacted, truncated): no log text
 * beyond that. Only the leader follows logs (reconcile calls use()); the one-shot `check` reads each log once.
 */

/** A follow request ends after this long and is reopened from its last line. */
export const ROTATE_MS = 10 * 60_000;
const LAST_LINES = 5;
const MAX_CONTROLLERS = 16;
const MAX_LINE = 64 * 1024;
const NOTIFY_MS = 1000;
/**
 * The kubelet sends a log response's headers only with its first line (and the API server waits for them), so a
 * follow request on a quiet container neither answers nor fails: after this long without an error it counts as open.
 */
export const OPEN_AFTER_MS = 5000;

export interface LogTarget {
  namespace: string;
  pod: string;
  uid: string;
  container: string;
}

export function logSpecId(s: LogSpec): string {
  const p = s.pods;
  return JSON.stringify([p.apiVersion, p.plural, p.namespace ?? '', p.labelSelector ?? '', p.fieldSelector ?? '', s.container ?? '', s.windowMs, s.maxBytesPerSecond, s.maxPods]);
}

/** The containers of a spec's pods to follow: Running pods on a node, by name, at most maxPods. */
export function logTargets(spec: LogSpec, pods: SourceView): LogTarget[] {
  const running = pods.objects.filter((p) => {
    const st = p.status as { phase?: unknown } | undefined;
    const sp = p.spec as { nodeName?: unknown } | undefined;
    return !p.metadata.deletionTimestamp && st?.phase === 'Running' && typeof sp?.nodeName === 'string' && sp.nodeName !== '';
  }).sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1)).slice(0, spec.maxPods);
  return running.flatMap((p: KubeObject) => {
    const containers = (p.spec as { containers?: { name?: unknown }[] } | undefined)?.containers ?? [];
    const names = containers.map((c) => c.name).filter((n): n is string => typeof n === 'string');
    const chosen = spec.container === undefined ? names : names.filter((n) => n === spec.container);
    return chosen.map((container) => ({ namespace: p.metadata.namespace ?? '', pod: p.metadata.name, uid: p.metadata.uid ?? '', container }));
  });
}

/** What each of a monitor's bound checks wants streamed, from the pods their sources list now. */
export function wantedLogs(checks: BoundCheck[], view: (s: BoundCheck['sources'][string]) => SourceView): { spec: LogSpec; targets: LogTarget[] }[] {
  return checks.flatMap((c) => Object.values(c.logs).map((spec) => ({ spec, targets: logTargets(spec, view(spec.pods)) })));
}

/** Why a log request failed, as a reason a check can report. */
function reasonOf(status: number, body: string): string {
  if (status === 401 || status === 403) return 'LogsForbidden';
  if (status === 404) return 'PodNotFound';
  if (status === 400) return /waiting to start|ContainerCreating|terminated/i.test(body) ? 'ContainerNotRunning' : 'LogsBadRequest';
  return 'LogsUnavailable';
}

class Stream {
  state: LogStreamView['state'] = 'pending';
  reason: string | undefined;
  error: string | undefined;
  buckets: { at: number; errors: number; reconcileErrors: Record<string, number> }[] = [];
  last: LogErrorLine[] = [];
  readonly users = new Set<string>();
  /** Timestamp key of the last line read, and how many lines carried exactly it (a batch can share one). */
  private lastKey: string | undefined;
  private lastKeyLines = 0;
  private lastMs = 0;
  /** After a reconnect: lines before this key, and the first `replayed` lines at it, were read before. */
  private resumeKey: string | undefined;
  private replayed = 0;
  private readonly abort = new AbortController();
  private notifyTimer: NodeJS.Timeout | undefined;
  done = false;

  constructor(
    readonly target: LogTarget,
    private readonly spec: LogSpec,
    private readonly kc: KubeConfig,
    private readonly log: Logger,
    private readonly follow: boolean,
    private readonly notify: (users: ReadonlySet<string>) => void,
  ) {}

  start(): void {
    void this.run();
  }

  stop(): void {
    this.abort.abort();
    clearTimeout(this.notifyTimer);
  }

  view(now: number): LogStreamView {
    const from = now - this.spec.windowMs;
    const t = this.target;
    return {
      namespace: t.namespace, pod: t.pod, container: t.container, state: this.state,
      ...(this.reason ? { reason: this.reason } : {}), ...(this.error ? { error: this.error } : {}),
      buckets: this.buckets.filter((b) => b.at + 1000 > from), last: this.last.filter((l) => l.at > from),
    };
  }

  private changed(): void {
    if (this.notifyTimer) return;
    this.notifyTimer = setTimeout(() => {
      this.notifyTimer = undefined;
      if (!this.abort.signal.aborted) this.notify(this.users);
    }, NOTIFY_MS);
    this.notifyTimer.unref();
  }

  private setState(state: LogStreamView['state'], reason?: string, error?: string): void {
    const same = state === this.state && reason === this.reason && error === this.error;
    this.state = state;
    this.reason = reason;
    this.error = error;
    if (!same) this.changed();
  }

  /** One raw line: skip what a reconnect delivers again, count error lines into their second. */
  private line(raw: string): void {
    const now = Date.now();
    const ts = splitTimestamp(raw);
    if (ts) {
      if (this.resumeKey !== undefined) {
        if (ts.key < this.resumeKey) return;
        if (ts.key === this.resumeKey && this.replayed > 0) {
          this.replayed--;
          return;
        }
        this.resumeKey = undefined;
      }
      if (ts.key === this.lastKey) this.lastKeyLines++;
      else {
        this.lastKey = ts.key;
        this.lastKeyLines = 1;
      }
      this.lastMs = ts.ms;
    }
    const ev = parseLogLine(ts ? ts.line : raw);
    if (!ev || (!ev.error && !ev.reconcileError)) return;
    const at = Math.min(ts?.ms ?? now, now);
    if (at <= now - this.spec.windowMs) return;
    const second = Math.floor(at / 1000) * 1000;
    let b = this.buckets.at(-1);
    if (b?.at !== second) {
      b = this.buckets.find((x) => x.at === second);
      if (!b) {
        b = { at: second, errors: 0, reconcileErrors: {} };
        this.buckets.push(b);
        this.buckets.sort((x, y) => x.at - y.at);
      }
    }
    while ((this.buckets[0]?.at ?? Infinity) + 1000 <= now - this.spec.windowMs) this.buckets.shift();
    if (ev.error) b.errors++;
    if (ev.reconcileError) {
      const known = Object.keys(b.reconcileErrors);
      const c = ev.controller && (known.includes(ev.controller) || known.length < MAX_CONTROLLERS) ? ev.controller : 'other';
      b.reconcileErrors[c] = (b.reconcileErrors[c] ?? 0) + 1;
    }
    this.last.push({ ...ev, at, pod: this.target.pod, container: this.target.container });
    if (this.last.length > LAST_LINES) this.last.shift();
    this.changed();
  }

  private url(): string {
    const t = this.target;
    // A reconnect asks from the last line's second (sinceTime has whole seconds): skip what was read already.
    this.resumeKey = this.lastKey;
    this.replayed = this.lastKeyLines;
    const q = new URLSearchParams({ container: t.container, timestamps: 'true', follow: String(this.follow) });
    if (this.lastKey !== undefined) q.set('sinceTime', isoSeconds(this.lastMs));
    else q.set('sinceSeconds', String(Math.max(1, Math.ceil(this.spec.windowMs / 1000))));
    return `/api/v1/namespaces/${encodeURIComponent(t.namespace)}/pods/${encodeURIComponent(t.pod)}/log?${q.toString()}`;
  }

  private async run(): Promise<void> {
    const backoff = new Backoff(1000, 30_000);
    const signal = this.abort.signal;
    const stopped = () => signal.aborted; // changes while awaiting
    const where = `${this.target.namespace}/${this.target.pod}/${this.target.container}`;
    while (!signal.aborted) {
      let wait: number;
      const open = this.follow ? setTimeout(() => { if (!stopped()) this.setState('ok'); }, OPEN_AFTER_MS) : undefined;
      try {
        const res = await fetchLines({
          kubeconfig: this.kc, url: this.url(), headers: { Accept: 'text/plain, */*' }, signal,
          timeoutMs: this.follow ? ROTATE_MS : 60_000, maxBytes: this.follow ? Infinity : 64 * 1024 * 1024,
          maxBytesPerSecond: this.spec.maxBytesPerSecond,
          onResponse: (status) => { if (isOk(status)) { this.setState('ok'); backoff.reset(); } },
        }, (l) => { this.line(l); }, { maxLineChars: MAX_LINE, longLines: 'skip' }).finally(() => { clearTimeout(open); });
        if (stopped()) return;
        if (!isOk(res.status)) {
          const reason = reasonOf(res.status, res.body);
          const message = `HTTP ${res.status}: ${res.body.replace(/\s+/g, ' ').slice(0, 300)}`;
          if (this.state !== 'failing' || this.reason !== reason) this.log.warn('cannot read container log', { stream: where, reason, error: message });
          this.setState('failing', reason, message);
          wait = backoff.next();
        } else if (!this.follow) {
          this.done = true;
          return;
        } else {
          wait = backoff.next(); // the container stopped or the server closed the stream: reopen from the last line
        }
      } catch (err) {
        if (stopped()) return;
        if (err instanceof HttpError && err.reason === 'Timeout' && this.state === 'ok') continue; // rotation
        const message = err instanceof Error ? err.message : String(err);
        if (this.state !== 'failing') this.log.warn('container log stream failed; reconnecting', { stream: where, error: message });
        this.setState('failing', err instanceof HttpError ? `Logs${err.reason}` : 'LogsUnreachable', message);
        if (!this.follow) {
          this.done = true;
          return;
        }
        wait = backoff.next();
      }
      if (!(await sleep(wait, signal))) return;
    }
  }
}

/**
 * Follows the container logs monitors ask for; a stream is shared by the monitors naming the same spec and
 * container, and stopped when the last one lets go. After an error line or a state change the monitors using the
 * stream are re-evaluated (at most once a second per stream). Never throws.
 */
export class LogManager {
  private readonly streams = new Map<string, Stream>();
  /** spec id → stream ids currently wanted (union over monitors). */
  private readonly bySpec = new Map<string, Map<string, Set<string>>>();
  private readonly byMonitor = new Map<string, Map<string, Set<string>>>();

  constructor(
    private readonly kc: KubeConfig,
    private readonly log: Logger,
    private readonly onChange: (monitors: ReadonlySet<string>) => void,
    private readonly opts: { follow: boolean } = { follow: true },
  ) {}

  /** Makes `monitor` follow exactly these streams. */
  use(monitor: string, wanted: { spec: LogSpec; targets: LogTarget[] }[]): void {
    const mine = new Map<string, Set<string>>();
    for (const { spec, targets } of wanted) {
      const sid = logSpecId(spec);
      const ids = mine.get(sid) ?? new Set<string>();
      mine.set(sid, ids);
      for (const t of targets) {
        const id = `${sid}|${t.namespace}/${t.pod}/${t.uid}/${t.container}`;
        ids.add(id);
        let s = this.streams.get(id);
        if (!s) {
          s = new Stream(t, spec, this.kc, this.log, this.opts.follow, (users) => { if (users.size) this.onChange(users); });
          this.streams.set(id, s);
          s.start();
        }
        s.users.add(monitor);
      }
    }
    this.byMonitor.set(monitor, mine);
    this.reindex();
  }

  release(monitor: string): void {
    this.byMonitor.delete(monitor);
    this.reindex();
  }

  /** The streams of a spec; pending while the spec has not been used yet. */
  view(spec: LogSpec, now = Date.now()): LogView {
    const ids = this.bySpec.get(logSpecId(spec));
    if (!ids) return { state: 'pending', streams: [] };
    const streams = [...ids.keys()].map((id) => this.streams.get(id)).filter((s): s is Stream => !!s).map((s) => s.view(now));
    const state = streams.some((s) => s.state === 'pending') ? 'pending' : streams.length && streams.every((s) => s.state === 'failing') ? 'failing' : 'ok';
    return { state, streams };
  }

  /** One-shot reads: every stream has been read (or failed). */
  get allDone(): boolean {
    return [...this.streams.values()].every((s) => s.done || s.state === 'failing');
  }

  stop(): void {
    for (const s of this.streams.values()) s.stop();
    this.streams.clear();
    this.bySpec.clear();
    this.byMonitor.clear();
  }

  /** Recomputes who uses what; stops streams nobody wants. */
  private reindex(): void {
    this.bySpec.clear();
    const used = new Map<string, Set<string>>();
    for (const [monitor, specs] of this.byMonitor) {
      for (const [sid, ids] of specs) {
        const m = this.bySpec.get(sid) ?? new Map<string, Set<string>>();
        this.bySpec.set(sid, m);
        for (const id of ids) {
          m.set(id, new Set([...(m.get(id) ?? []), monitor]));
          used.set(id, new Set([...(used.get(id) ?? []), monitor]));
        }
      }
    }
    for (const [id, s] of this.streams) {
      const users = used.get(id);
      if (!users) {
        s.stop();
        this.streams.delete(id);
        continue;
      }
      for (const u of [...s.users]) if (!users.has(u)) s.users.delete(u);
    }
  }
}
