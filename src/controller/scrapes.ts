import { readFileSync } from 'node:fs';
import type { KubeConfig } from '../runtime/kubeconfig.js';
import type { ScrapeSpec, ScrapeView } from '../checks/types.js';
import type { Logger } from '../runtime/log.js';
import { headerSafe } from '../runtime/http.js';
import { rawJson } from '../runtime/rawrequest.js';
import { PARSE_DEFAULTS, type Sample } from '../sources/promtext.js';
import { instantQuery } from '../sources/promql.js';
import { scrape, ScrapeError } from '../sources/scrape.js';

/**
 * Memory budget per scraped endpoint, by the parser's upper estimate of the heap kept samples hold: one scrape
 * keeps at most PARSE_DEFAULTS.maxSamples samples and maxKeptBytes (32 MiB); the history keeps at most the
 * spec's historySize scrapes and HISTORY_BYTES in all, but always the newest two (rates need two scrapes).
 */
export const HISTORY_BYTES = 32 * 1024 * 1024;
export const PER_SCRAPE_BYTES = HISTORY_BYTES / 2;

/** Drops the oldest entries beyond `count` or beyond `budget` bytes (keeping at least the newest two). */
export function trimHistory<T extends { bytes: number }>(history: T[], count: number, budget = HISTORY_BYTES): T[] {
  let total = history.reduce((a, h) => a + h.bytes, 0);
  let start = 0;
  while (history.length - start > Math.max(1, count) || (total > budget && history.length - start > 2)) {
    total -= history[start]?.bytes ?? 0;
    start++;
  }
  return start ? history.slice(start) : history;
}

export function scrapeId(s: ScrapeSpec): string {
  return JSON.stringify([
    s.url,
    s.query ?? '',
    s.intervalMs,
    s.timeoutMs,
    s.maxBytes,
    s.tls,
    s.bearerToken,
    [...s.keep].sort(),
    s.historySize,
  ]);
}

const SA_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

function keeps(keep: readonly string[]): (name: string) => boolean {
  const exact = new Set(keep.filter((k) => !k.endsWith('*')));
  const prefixes = keep.filter((k) => k.endsWith('*')).map((k) => k.slice(0, -1));
  return (n) => exact.has(n) || prefixes.some((p) => n.startsWith(p));
}

interface Loop {
  spec: ScrapeSpec;
  view: ScrapeView;
  /** The view's history with each scrape's estimated bytes. */
  kept: { at: number; samples: readonly Sample[]; bytes: number }[];
  truncated: boolean;
  timer?: NodeJS.Timeout;
  stopped: boolean;
  users: Set<string>;
}

/**
 * Scrapes the metrics endpoints monitors ask for, each on its own interval, shared between monitors that name
 * the same endpoint; after every scrape the monitors using it are re-evaluated. Keeps a bounded history of the
 * metric families the check needs. Never throws: failures become the view's state and reason.
 */
export class ScrapeManager {
  private readonly loops = new Map<string, Loop>();
  private readonly byMonitor = new Map<string, Set<string>>();
  private readonly tokens = new Map<string, { at: number; token: string | undefined }>();

  constructor(
    private readonly kc: KubeConfig,
    private readonly log: Logger,
    private readonly onScrape: (monitors: ReadonlySet<string>) => void,
  ) {}

  use(monitor: string, specs: ScrapeSpec[]): void {
    const ids = new Set(specs.map(scrapeId));
    for (const s of specs) {
      const id = scrapeId(s);
      let loop = this.loops.get(id);
      if (!loop) {
        loop = { spec: s, view: { state: 'pending', history: [] }, kept: [], truncated: false, stopped: false, users: new Set() };
        this.loops.set(id, loop);
        this.schedule(loop, 0);
      }
      loop.users.add(monitor);
    }
    for (const id of this.byMonitor.get(monitor) ?? []) if (!ids.has(id)) this.drop(monitor, id);
    this.byMonitor.set(monitor, ids);
  }

  release(monitor: string): void {
    for (const id of this.byMonitor.get(monitor) ?? []) this.drop(monitor, id);
    this.byMonitor.delete(monitor);
  }

  view(s: ScrapeSpec): ScrapeView {
    return this.loops.get(scrapeId(s))?.view ?? { state: 'pending', history: [] };
  }

  /** Every endpoint in use has answered (or failed) at least once. */
  get allAnswered(): boolean {
    return [...this.loops.values()].every((l) => l.view.state !== 'pending');
  }

  stop(): void {
    for (const l of this.loops.values()) {
      l.stopped = true;
      clearTimeout(l.timer);
    }
    this.loops.clear();
  }

  private drop(monitor: string, id: string): void {
    const loop = this.loops.get(id);
    if (!loop) return;
    loop.users.delete(monitor);
    if (loop.users.size === 0) {
      loop.stopped = true;
      clearTimeout(loop.timer);
      this.loops.delete(id);
    }
  }

  private schedule(loop: Loop, delayMs: number): void {
    if (loop.stopped) return;
    loop.timer = setTimeout(() => {
      void this.once(loop);
    }, delayMs);
    loop.timer.unref();
  }

  private async once(loop: Loop): Promise<void> {
    const s = loop.spec;
    try {
      const token = await this.token(s);
      const target = {
        url: s.url,
        timeoutMs: s.timeoutMs,
        maxBytes: s.maxBytes,
        insecureSkipVerify: s.tls.insecureSkipVerify,
        ...(token ? { token } : {}),
        ...(s.tls.caBundle ? { caBundle: s.tls.caBundle } : {}),
        ...(s.tls.serverName ? { serverName: s.tls.serverName } : {}),
      };
      const limits = { maxSamples: PARSE_DEFAULTS.maxSamples, maxKeptBytes: PER_SCRAPE_BYTES };
      const got =
        s.query !== undefined
          ? await instantQuery({ ...target, query: s.query }, limits)
          : await scrape(target, { ...limits, ...(s.keep.length ? { keep: keeps(s.keep) } : {}) });
      if (got.truncated !== loop.truncated || (got.longLabels > 0 && loop.view.state !== 'ok')) {
        const what = { url: s.url, kept: got.samples.length, truncated: got.truncated, longLabelValuesDropped: got.longLabels };
        if (got.truncated || got.longLabels) this.log.warn('metrics scrape exceeded its limits; kept the first samples', what);
      }
      loop.truncated = got.truncated;
      loop.kept = trimHistory([...loop.kept, { at: Date.now(), samples: got.samples, bytes: got.bytes }], Math.max(2, s.historySize));
      if (loop.view.state !== 'ok') this.log.info('metrics endpoint scraped', { url: s.url, samples: got.samples.length });
      loop.view = { state: 'ok', history: loop.kept };
    } catch (err) {
      const reason = err instanceof ScrapeError ? err.reason : 'MetricsUnreachable';
      const message = err instanceof Error ? err.message : String(err);
      const before = loop.view.state === 'failing' ? loop.view : undefined;
      const failures = (before?.failures ?? 0) + 1;
      if (before?.error !== message) {
        this.log.warn('metrics scrape failed', { url: s.url, reason, error: message, consecutiveFailures: failures });
      }
      loop.view = {
        state: 'failing',
        reason,
        error: message,
        failures,
        failingSince: before?.failingSince ?? Date.now(),
        history: loop.view.history,
      };
    }
    if (loop.stopped) return;
    this.onScrape(loop.users);
    this.schedule(loop, s.intervalMs);
  }

  /** The bearer token: our ServiceAccount's (or the kubeconfig user's outside a cluster), or a Secret's key. */
  private async token(s: ScrapeSpec): Promise<string | undefined> {
    const b = s.bearerToken;
    if (b.source === 'None') return undefined;
    if (b.source === 'ServiceAccount') {
      try {
        return readFileSync(SA_TOKEN, 'utf8').trim(); // projected token: re-read, it rotates
      } catch {
        return this.kc.getCurrentUser()?.token;
      }
    }
    const ref = b.secretRef;
    if (!ref) return undefined;
    const key = `${ref.namespace}/${ref.name}/${ref.key}`;
    const hit = this.tokens.get(key);
    if (hit && Date.now() - hit.at < 60_000) return hit.token;
    const where = `Secret ${ref.namespace}/${ref.name}`;
    const path = `/api/v1/namespaces/${ref.namespace}/secrets/${ref.name}`;
    const secret = await rawJson<{ data?: Record<string, unknown> } | null>(this.kc, { method: 'GET', path, timeoutMs: 10_000 }).catch(
      (err: unknown) => {
        throw new ScrapeError('MetricsUnauthorized', `cannot read token ${where}: ${err instanceof Error ? err.message : String(err)}`);
      },
    );
    const raw = secret?.data?.[ref.key];
    const token = typeof raw === 'string' ? Buffer.from(raw, 'base64').toString('utf8').trim() : undefined;
    if (!token) throw new ScrapeError('MetricsUnauthorized', `Secret ${ref.namespace}/${ref.name} has no key ${ref.key}`);
    if (!headerSafe(token)) {
      throw new ScrapeError(
        'MetricsUnauthorized',
        `the token in ${where} key ${ref.key} has a newline or other character not allowed in HTTP`,
      );
    }
    this.tokens.set(key, { at: Date.now(), token });
    return token;
  }
}
