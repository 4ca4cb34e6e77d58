import type { LogSpec, LogStreamView } from '../checks/types.js';
import { isoSeconds } from '../api/time.js';
import { Backoff, sleep } from '../runtime/backoff.js';
import { fetchLines, HttpError, isOk } from '../runtime/http.js';
import type { KubeConfig } from '../runtime/kubeconfig.js';
import type { Logger } from '../runtime/log.js';
import { parseLogLine, splitTimestamp } from '../sources/zaplog.js';
import { countLine, countsInWindow, type LogCounts, NO_COUNTS } from './logs-counts.js';
import type { LogTarget } from './logs-targets.js';

/** A follow request ends after this long and is reopened from its last line. */
export const ROTATE_MS = 10 * 60_000;
const MAX_LINE = 64 * 1024;
const NOTIFY_MS = 1000;
/**
 * The kubelet sends a log response's headers only with its first line (and the API server waits for them), so a
 * follow request on a quiet container neither answers nor fails: after this long without an error it counts as open.
 */
export const OPEN_AFTER_MS = 5000;

/** Why a log request failed, as a reason a check can report. */
export function reasonOf(status: number, body: string): string {
  if (status === 401 || status === 403) return 'LogsForbidden';
  if (status === 404) return 'PodNotFound';
  if (status === 400) return /waiting to start|ContainerCreating|terminated/i.test(body) ? 'ContainerNotRunning' : 'LogsBadRequest';
  return 'LogsUnavailable';
}

/** The pods/log request: back `windowMs` on the first (sinceSeconds), from the second of the last line read after that (sinceTime). */
export function logUrl(t: LogTarget, follow: boolean, windowMs: number, since: number | undefined): string {
  const q = new URLSearchParams({ container: t.container, timestamps: 'true', follow: String(follow) });
  if (since !== undefined) q.set('sinceTime', isoSeconds(since));
  else q.set('sinceSeconds', String(Math.max(1, Math.ceil(windowMs / 1000))));
  return `/api/v1/namespaces/${encodeURIComponent(t.namespace)}/pods/${encodeURIComponent(t.pod)}/log?${q.toString()}`;
}

/**
 * Skips what a reconnect delivers again: sinceTime has whole seconds, so the API server resends the last line's
 * second. Lines before the last line's timestamp key are skipped, and as many lines at it as were read (a batch can
 * share one timestamp).
 */
export class ReplaySkip {
  private lastKey: string | undefined;
  private lastKeyLines = 0;
  private lastMs = 0;
  private resumeKey: string | undefined;
  private replayed = 0;

  /** A new request starts: the time to resume from, undefined before any line was read. */
  reconnect(): number | undefined {
    this.resumeKey = this.lastKey;
    this.replayed = this.lastKeyLines;
    return this.lastKey === undefined ? undefined : this.lastMs;
  }

  /** Whether a timestamped line is new (and remembered as the last one); false for a line read before the reconnect. */
  isNew(ts: { key: string; ms: number }): boolean {
    if (this.resumeKey !== undefined) {
      if (ts.key < this.resumeKey) return false;
      if (ts.key === this.resumeKey && this.replayed > 0) {
        this.replayed--;
        return false;
      }
      this.resumeKey = undefined;
    }
    if (ts.key === this.lastKey) this.lastKeyLines++;
    else {
      this.lastKey = ts.key;
      this.lastKeyLines = 1;
    }
    this.lastMs = ts.ms;
    return true;
  }
}

/**
 * One container's log: a follow request (or one read, without `follow`) that reconnects with backoff after a drop
 * or an error, counts the error lines it reads, and tells `notify` its users after a change (at most once a second).
 */
export class LogStream {
  state: LogStreamView['state'] = 'pending';
  reason: string | undefined;
  error: string | undefined;
  readonly users = new Set<string>();
  done = false;
  private counts: LogCounts = NO_COUNTS;
  private readonly replay = new ReplaySkip();
  private readonly abort = new AbortController();
  private notifyTimer: NodeJS.Timeout | undefined;

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
    const t = this.target;
    const { buckets, last } = countsInWindow(this.counts, now, this.spec.windowMs);
    return {
      namespace: t.namespace,
      pod: t.pod,
      container: t.container,
      state: this.state,
      ...(this.reason ? { reason: this.reason } : {}),
      ...(this.error ? { error: this.error } : {}),
      buckets,
      last,
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
    if (ts && !this.replay.isNew(ts)) return;
    const ev = parseLogLine(ts ? ts.line : raw);
    if (!ev || (!ev.error && !ev.reconcileError)) return;
    const at = Math.min(ts?.ms ?? now, now);
    const counts = countLine(this.counts, { ...ev, at, pod: this.target.pod, container: this.target.container }, now, this.spec.windowMs);
    if (counts === this.counts) return;
    this.counts = counts;
    this.changed();
  }

  private async run(): Promise<void> {
    const backoff = new Backoff(1000, 30_000);
    const signal = this.abort.signal;
    const stopped = () => signal.aborted; // changes while awaiting
    const where = `${this.target.namespace}/${this.target.pod}/${this.target.container}`;
    while (!signal.aborted) {
      let wait: number;
      const open = this.follow
        ? setTimeout(() => {
            if (!stopped()) this.setState('ok');
          }, OPEN_AFTER_MS)
        : undefined;
      try {
        const res = await fetchLines(
          {
            kubeconfig: this.kc,
            url: logUrl(this.target, this.follow, this.spec.windowMs, this.replay.reconnect()),
            headers: { Accept: 'text/plain, */*' },
            signal,
            timeoutMs: this.follow ? ROTATE_MS : 60_000,
            maxBytes: this.follow ? Infinity : 64 * 1024 * 1024,
            maxBytesPerSecond: this.spec.maxBytesPerSecond,
            onResponse: (status) => {
              if (isOk(status)) {
                this.setState('ok');
                backoff.reset();
              }
            },
          },
          (l) => {
            this.line(l);
          },
          { maxLineChars: MAX_LINE, longLines: 'skip' },
        ).finally(() => {
          clearTimeout(open);
        });
        if (stopped()) return;
        if (!isOk(res.status)) {
          const reason = reasonOf(res.status, res.body);
          const message = `HTTP ${res.status}: ${res.body.replace(/\s+/g, ' ').slice(0, 300)}`;
          if (this.state !== 'failing' || this.reason !== reason)
            this.log.warn('cannot read container log', { stream: where, reason, error: message });
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
