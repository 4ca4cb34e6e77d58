import { readFileSync } from 'node:fs';
import type { KubeConfig } from '@kubernetes/client-node';
import type { ScrapeSpec, ScrapeView } from '../checks/types.js';
import type { Logger } from '../runtime/log.js';
import { rawJson } from '../runtime/rawrequest.js';
import type { Sample } from '../sources/promtext.js';
import { instantQuery } from '../sources/promql.js';
import { scrape, ScrapeError } from '../sources/scrape.js';

export function scrapeId(s: ScrapeSpec): string {
  return JSON.stringify([s.url, s.query ?? '', s.intervalMs, s.timeoutMs, s.maxBytes, s.tls, s.bearerToken, [...s.keep].sort(), s.historySize]);
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

  constructor(private readonly kc: KubeConfig, private readonly log: Logger, private readonly onScrape: (monitors: ReadonlySet<string>) => void) {}

  use(monitor: string, specs: ScrapeSpec[]): void {
    const ids = new Set(specs.map(scrapeId));
    for (const s of specs) {
      const id = scrapeId(s);
      let loop = this.loops.get(id);
      if (!loop) {
        loop = { spec: s, view: { state: 'pending', history: [] }, stopped: false, users: new Set() };
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
    loop.timer = setTimeout(() => { void this.once(loop); }, delayMs);
    loop.timer.unref();
  }

  private async once(loop: Loop): Promise<void> {
    const s = loop.spec;
    const keep = keeps(s.keep);
    try {
      const token = await this.token(s);
      const samples: Sample[] = s.query !== undefined ? await instantQuery({
        url: s.url, query: s.query, timeoutMs: s.timeoutMs, maxBytes: s.maxBytes, insecureSkipVerify: s.tls.insecureSkipVerify, ...(s.tls.caBundle ? { caBundle: s.tls.caBundle } : {}),
      }) : (await scrape({
        url: s.url, timeoutMs: s.timeoutMs, maxBytes: s.maxBytes, insecureSkipVerify: s.tls.insecureSkipVerify,
        ...(token ? { token } : {}), ...(s.tls.caBundle ? { caBundle: s.tls.caBundle } : {}), ...(s.tls.serverName ? { serverName: s.tls.serverName } : {}),
      })).filter((x) => keep(x.name));
      const history = [...loop.view.history, { at: Date.now(), samples }].slice(-Math.max(2, s.historySize));
      if (loop.view.state !== 'ok') this.log.info('metrics endpoint scraped', { url: s.url, samples: samples.length });
      loop.view = { state: 'ok', history };
    } catch (err) {
      const reason = err instanceof ScrapeError ? err.reason : 'MetricsUnreachable';
      const message = err instanceof Error ? err.message : String(err);
      if (loop.view.state !== 'failing' || loop.view.error !== message) this.log.warn('metrics scrape failed', { url: s.url, reason, error: message });
      loop.view = { state: 'failing', reason, error: message, history: loop.view.history };
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
    const secret = await rawJson<{ data?: Record<string, string> }>(this.kc, { method: 'GET', path: `/api/v1/namespaces/${ref.namespace}/secrets/${ref.name}`, timeoutMs: 10_000 })
      .catch((err: unknown) => { throw new ScrapeError('MetricsUnauthorized', `cannot read token Secret ${ref.namespace}/${ref.name}: ${err instanceof Error ? err.message : String(err)}`); });
    const raw = secret.data?.[ref.key];
    const token = raw ? Buffer.from(raw, 'base64').toString('utf8').trim() : undefined;
    if (!token) throw new ScrapeError('MetricsUnauthorized', `Secret ${ref.namespace}/${ref.name} has no key ${ref.key}`);
    this.tokens.set(key, { at: Date.now(), token });
    return token;
  }
}
