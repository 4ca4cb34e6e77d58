import type { MetricsEndpoint } from '../api/types.js';
import { durationMs } from '../api/duration.js';
import { type Sample, sumOf } from '../sources/promtext.js';
import type { ScrapeSpec, ScrapeView } from './types.js';
import { type F, NextCheck } from './util.js';

/** What the controller-runtime rules need from each scrape. */
export const CONTROLLER_RUNTIME_METRICS = [
  'controller_runtime_reconcile_errors_total', 'controller_runtime_reconcile_panics_total', 'controller_runtime_reconcile_total',
  'controller_runtime_reconcile_time_seconds_bucket', 'workqueue_depth', 'leader_election_master_status',
];

export function scrapeSpecFor(m: MetricsEndpoint, keep: string[], longestWindowMs: number): ScrapeSpec {
  const intervalMs = durationMs(m.interval);
  return {
    url: m.url ?? '', intervalMs, timeoutMs: durationMs(m.timeout), maxBytes: m.maxResponseBytes,
    tls: { insecureSkipVerify: m.tls.insecureSkipVerify, ...(m.tls.caBundle ? { caBundle: m.tls.caBundle } : {}), ...(m.tls.serverName ? { serverName: m.tls.serverName } : {}) },
    bearerToken: { source: m.bearerToken.source, ...(m.bearerToken.secretRef ? { secretRef: m.bearerToken.secretRef } : {}) },
    keep, historySize: Math.min(128, Math.ceil(longestWindowMs / Math.max(1, intervalMs)) + 2),
  };
}

/** Increase of a counter between two scrapes; a decrease means a restart (Prometheus' reset rule). */
export function counterIncrease(before: number | undefined, after: number | undefined): number {
  if (after === undefined) return 0;
  if (before === undefined) return 0;
  return after >= before ? after - before : after;
}

/** p-quantile (0–1) from cumulative histogram bucket increases between two scrapes, summed over all series. */
export function histogramQuantile(q: number, before: readonly Sample[], after: readonly Sample[], bucket: string): number | undefined {
  const byLe = (samples: readonly Sample[]) => {
    const m = new Map<number, number>();
    for (const s of samples) {
      if (s.name !== bucket) continue;
      const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
      if (Number.isNaN(le)) continue;
      m.set(le, (m.get(le) ?? 0) + s.value);
    }
    return m;
  };
  const a = byLe(before);
  const b = byLe(after);
  const les = [...b.keys()].sort((x, y) => x - y);
  const inc = les.map((le) => ({ le, n: counterIncrease(a.get(le), b.get(le)) }));
  const total = inc.at(-1)?.n ?? 0;
  if (!total || !Number.isFinite(total)) return undefined;
  const want = q * total;
  let prevLe = 0;
  let prevN = 0;
  for (const { le, n } of inc) {
    if (n >= want) {
      if (!Number.isFinite(le)) return prevLe; // beyond the last finite bucket: report its bound
      return n === prevN ? le : prevLe + ((le - prevLe) * (want - prevN)) / (n - prevN);
    }
    prevLe = le;
    prevN = n;
  }
  return prevLe;
}

export interface ControllerThresholds {
  maxReconcileErrorsPerMinute: number;
  maxWorkqueueDepth: number;
  workqueueDepthFor: string;
  maxReconcileP99: string;
}

/**
 * controller-runtime health from the last scrapes: reconcile error rate and panics (Critical), a workqueue
 * backlog that lasts (Warning), slow reconciles by p99 (Warning). Rates come from the two newest scrapes.
 */
export function controllerMetricsFindings(what: string, view: ScrapeView, t: ControllerThresholds, now: Date, next: NextCheck): F[] {
  const h = view.history;
  const latest = h.at(-1);
  const prev = h.at(-2);
  if (!latest || !prev) return [];
  const out: F[] = [];
  const secs = Math.max(0.001, (latest.at - prev.at) / 1000);
  const errors = counterIncrease(sumOf(prev.samples, 'controller_runtime_reconcile_errors_total'), sumOf(latest.samples, 'controller_runtime_reconcile_errors_total'));
  const perMinute = (errors * 60) / secs;
  if (errors > 0 && perMinute > t.maxReconcileErrorsPerMinute) {
    out.push({ severity: 'Critical', reason: 'ReconcileErrors', message: `${what} reconcile errors are rising: ${errors} in the last ${secs.toFixed(0)}s (${perMinute.toFixed(1)}/min, threshold ${t.maxReconcileErrorsPerMinute}/min); check its logs` });
  }
  const panics = counterIncrease(sumOf(prev.samples, 'controller_runtime_reconcile_panics_total'), sumOf(latest.samples, 'controller_runtime_reconcile_panics_total'));
  if (panics > 0) out.push({ severity: 'Critical', reason: 'ReconcilePanics', message: `${what} panicked in ${panics} reconcile(s) since the previous scrape` });

  const depthOf = (s: readonly Sample[]) => Math.max(0, ...s.filter((x) => x.name === 'workqueue_depth').map((x) => x.value));
  const depthFor = durationMs(t.workqueueDepthFor);
  let runStart: number | undefined;
  for (let i = h.length - 1; i >= 0; i--) {
    const entry = h[i];
    if (!entry || depthOf(entry.samples) <= t.maxWorkqueueDepth) break;
    runStart = entry.at;
  }
  if (runStart !== undefined) {
    if (latest.at - runStart >= depthFor) out.push({ severity: 'Warning', reason: 'WorkqueueBacklog', message: `${what} workqueue depth has stayed above ${t.maxWorkqueueDepth} for longer than ${t.workqueueDepthFor}` });
    else next.when(runStart, depthFor);
  }
  const leader = latest.samples.filter((x) => x.name === 'leader_election_master_status');
  if (leader.length && leader.every((x) => x.value === 0)) {
    out.push({ severity: 'Warning', reason: 'ScrapedReplicaNotLeader', message: `the scraped ${what} replica reports leader_election_master_status 0: it is a standby, or (with one replica) nothing is reconciling` });
  }
  const p99 = histogramQuantile(0.99, prev.samples, latest.samples, 'controller_runtime_reconcile_time_seconds_bucket');
  if (p99 !== undefined && p99 * 1000 > durationMs(t.maxReconcileP99)) {
    out.push({ severity: 'Warning', reason: 'SlowReconciles', message: `${what} reconcile p99 is ${p99.toFixed(2)}s (threshold ${t.maxReconcileP99})` });
  }
  return out;
}

/** A failing scrape makes an otherwise healthy component Unknown, with the failure as reason. */
export function scrapeUnknown(what: string, view: ScrapeView | undefined): { reason: string; message: string } | undefined {
  if (!view || view.state === 'ok') return undefined;
  if (view.state === 'pending') return { reason: 'MetricsNotScraped', message: `${what} metrics not scraped yet` };
  return { reason: view.reason ?? 'MetricsUnreachable', message: `${what} metrics: ${view.error ?? 'scrape failed'}` };
}
