import type { MetricsEndpoint } from '../api/types.js';
import { durationMs } from '../api/duration.js';
import { DEFAULT_MIN_RECONCILE_ERRORS } from '../api/schema.js';
import type { Sample } from '../sources/promtext.js';
import type { ScrapeSpec, ScrapeView } from './types.js';
import { type F, humanDuration, NextCheck } from './util.js';

/** What the controller-runtime rules need from each scrape. */
export const CONTROLLER_RUNTIME_METRICS = [
  'controller_runtime_reconcile_errors_total',
  'controller_runtime_reconcile_panics_total',
  'controller_runtime_reconcile_total',
  'controller_runtime_reconcile_time_seconds_bucket',
  'workqueue_depth',
  'leader_election_master_status',
];

/** Counter rates are computed over this window unless the spec says otherwise (PromQL's usual increase(x[5m])). */
export const DEFAULT_RATE_WINDOW = '5m';
/** Scrapes kept per endpoint at most (each holds only the kept families: a few hundred samples). */
export const MAX_HISTORY = 1024;

/** Scrapes to keep so the history spans `windowMs` (plus the one just before it and the newest). */
export function historySize(intervalMs: number, windowMs: number): number {
  return Math.min(MAX_HISTORY, Math.ceil(windowMs / Math.max(1, intervalMs)) + 2);
}

export function scrapeSpecFor(m: MetricsEndpoint & { rateWindow?: string }, keep: string[], longestWindowMs: number): ScrapeSpec {
  const intervalMs = durationMs(m.interval);
  return {
    url: m.url ?? '',
    intervalMs,
    timeoutMs: durationMs(m.timeout),
    maxBytes: m.maxResponseBytes,
    tls: {
      insecureSkipVerify: m.tls.insecureSkipVerify,
      ...(m.tls.caBundle ? { caBundle: m.tls.caBundle } : {}),
      ...(m.tls.serverName ? { serverName: m.tls.serverName } : {}),
    },
    bearerToken: { source: m.bearerToken.source, ...(m.bearerToken.secretRef ? { secretRef: m.bearerToken.secretRef } : {}) },
    keep,
    historySize: historySize(intervalMs, Math.max(longestWindowMs, durationMs(m.rateWindow ?? DEFAULT_RATE_WINDOW))),
    failureGraceMs: durationMs(m.failureGrace),
  };
}

/** Increase of a counter between two scrapes; a decrease means a restart (Prometheus' reset rule). */
export function counterIncrease(before: number | undefined, after: number | undefined): number {
  if (after === undefined) return 0;
  if (before === undefined) return 0;
  return after >= before ? after - before : after;
}

type History = ScrapeView['history'];

/** The scrapes a window covers: from the newest one at least `windowMs` older than the latest (or the oldest kept). */
export function windowOf(h: History, windowMs: number): History {
  const latest = h.at(-1);
  if (!latest) return [];
  let start = 0;
  for (let i = h.length - 1; i >= 0; i--) {
    const e = h[i];
    if (e && latest.at - e.at >= windowMs) {
      start = i;
      break;
    }
  }
  return h.slice(start);
}

/** A series' identity: its labels sorted by name, each value length-prefixed (unambiguous, cheaper than JSON). */
function seriesKey(s: Sample): string {
  const names = Object.keys(s.labels);
  if (names.length > 1) names.sort();
  let key = '';
  for (const n of names) {
    const v = s.labels[n] ?? '';
    key += `${n}=${v.length}:${v},`;
  }
  return key;
}

/** Same label set (no allocation): the common case of a series at the same position in consecutive scrapes. */
function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  let n = 0;
  for (const k in a) {
    if (a[k] !== b[k]) return false;
    n++;
  }
  for (const _ in b) n--;
  return n === 0;
}

const matches = (labels: Record<string, string>, want: [string, string][]) => want.every(([k, v]) => labels[k] === v);

interface SeriesState {
  labels: Record<string, string>;
  increase: number;
  last: number;
}

/**
 * Increase of each series of a counter over consecutive scrapes, like PromQL's increase() without extrapolation:
 * per series (label set), a drop is a reset (the counter restarted: its new value is the increase), a series
 * missing from a scrape (a standby replica answered, or the pod was replaced) is skipped, a series first seen in
 * the window counts from its first value. Non-finite values are ignored.
 */
export function seriesIncreases(
  entries: History,
  name: string,
  match: Record<string, string> = {},
): Map<string, { labels: Record<string, string>; increase: number }> {
  const out = new Map<string, SeriesState>();
  const want = Object.entries(match);
  // Linear: a series found at the same position as in the previous scrape reuses its state without a key.
  let before: readonly Sample[] = [];
  let beforeStates: (SeriesState | undefined)[] = [];
  for (const e of entries) {
    const states = new Array<SeriesState | undefined>(e.samples.length);
    for (let p = 0; p < e.samples.length; p++) {
      const s = e.samples[p];
      if (s?.name !== name || !Number.isFinite(s.value) || (want.length > 0 && !matches(s.labels, want))) continue;
      const q = before[p];
      let prev = q?.name === s.name && sameLabels(q.labels, s.labels) ? beforeStates[p] : undefined;
      if (!prev) {
        const k = seriesKey(s);
        prev = out.get(k);
        if (!prev) {
          const first = { labels: s.labels, increase: 0, last: s.value };
          out.set(k, first);
          states[p] = first;
          continue;
        }
      }
      prev.increase += s.value >= prev.last ? s.value - prev.last : Math.max(0, s.value);
      prev.last = s.value;
      states[p] = prev;
    }
    before = e.samples;
    beforeStates = states;
  }
  return out;
}

export interface WindowRate {
  /** Sum of the per-series increases over the scrapes in the window. */
  increase: number;
  /** Time between the first and the last scrape used. */
  spanMs: number;
  /** increase per minute over max(span, window): a history shorter than the window gives a lower bound. */
  perMinute: number;
}

/**
 * Rate of a counter (summed over its series) over a fixed window, from the scrape history: the increase from the
 * newest scrape at least `windowMs` before the latest, divided by that span. While the history is younger than the
 * window (just started) the increase is divided by the whole window, so the rate is never overstated: a trickle
 * below the threshold cannot fire because it was seen over a short span. `capacityMs` is the longest span the
 * history can hold (size × interval); a window longer than that is measured over the span.
 */
export function windowRate(
  h: History,
  name: string,
  windowMs: number,
  match: Record<string, string> = {},
  capacityMs = Infinity,
): WindowRate | undefined {
  const entries = windowOf(h, windowMs);
  const first = entries[0];
  const last = entries.at(-1);
  if (!first || !last || entries.length < 2) return undefined;
  let increase = 0;
  for (const s of seriesIncreases(entries, name, match).values()) increase += s.increase;
  const spanMs = last.at - first.at;
  const denominator = Math.max(1, spanMs, Math.min(windowMs, capacityMs));
  return { increase, spanMs, perMinute: (increase * 60_000) / denominator };
}

/** p-quantile (0–1) from the increases of cumulative histogram buckets over the given scrapes, summed over all series. */
export function histogramQuantile(q: number, entries: History, bucket: string): number | undefined {
  const byLe = new Map<number, number>();
  for (const { labels, increase } of seriesIncreases(entries, bucket).values()) {
    const le = labels.le === '+Inf' ? Infinity : Number(labels.le);
    if (Number.isNaN(le)) continue;
    byLe.set(le, (byLe.get(le) ?? 0) + increase);
  }
  const inc = [...byLe.entries()].sort(([x], [y]) => x - y).map(([le, n]) => ({ le, n }));
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
  /** Reconcile errors needed within rateWindow, besides the rate (a single retried error is routine); the schema's
   * default (DEFAULT_MIN_RECONCILE_ERRORS) when absent. */
  minReconcileErrors?: number;
  maxWorkqueueDepth: number;
  workqueueDepthFor: string;
  maxReconcileP99: string;
  /** Window of every counter rate (errors, panics, p99). */
  rateWindow: string;
}

/** The longest span a scrape history of this endpoint can hold. */
export function historyCapacityMs(m: { interval: string; rateWindow?: string }, longestWindowMs = 0): number {
  const intervalMs = durationMs(m.interval);
  return (historySize(intervalMs, Math.max(longestWindowMs, durationMs(m.rateWindow ?? DEFAULT_RATE_WINDOW))) - 1) * intervalMs;
}

/**
 * controller-runtime health from the scrape history: reconcile errors over `rateWindow` (Critical when there are at
 * least `minReconcileErrors` of them and their rate is above `maxReconcileErrorsPerMinute`), panics (Critical), a
 * workqueue backlog that lasts (Warning), slow reconciles by p99 over the window (Warning).
 *
 * Why a minimum count: controller-runtime counts every failed Reconcile once and retries it with per-object
 * exponential backoff (5 ms · 2^n, DefaultTypedControllerRateLimiter). A healthy operator has isolated errors —
 * Kaiwo's "object has been modified" conflict on a KaiwoJob's first status write, a couple at start-up — each one
 * increment, retried at once and harmless; in a short window one of them alone would read as a high rate. An object
 * that keeps failing adds about ten increments in its first seconds, so a real fault passes the minimum at once.
 */
export function controllerMetricsFindings(
  what: string,
  view: ScrapeView,
  t: ControllerThresholds & { interval?: string },
  now: Date,
  next: NextCheck,
): F[] {
  const h = view.history;
  const latest = h.at(-1);
  if (!latest || h.length < 2) return [];
  const out: F[] = [];
  const windowMs = durationMs(t.rateWindow);
  const capacityMs = t.interval
    ? historyCapacityMs({ interval: t.interval, rateWindow: t.rateWindow }, durationMs(t.workqueueDepthFor))
    : Infinity;
  const errors = windowRate(h, 'controller_runtime_reconcile_errors_total', windowMs, {}, capacityMs);
  const minErrors = t.minReconcileErrors ?? DEFAULT_MIN_RECONCILE_ERRORS;
  if (errors && errors.increase > 0 && errors.increase >= minErrors && errors.perMinute > t.maxReconcileErrorsPerMinute) {
    out.push({
      severity: 'Critical',
      reason: 'ReconcileErrors',
      message:
        `${what} reconcile errors are rising: ${errors.increase} in the last ${humanDuration(errors.spanMs)} (${errors.perMinute.toFixed(1)}/min over ${t.rateWindow}, ` +
        `threshold ${t.maxReconcileErrorsPerMinute}/min and at least ${minErrors}); check its logs`,
    });
  }
  const panics = windowRate(h, 'controller_runtime_reconcile_panics_total', windowMs, {}, capacityMs);
  if (panics && panics.increase > 0) {
    out.push({
      severity: 'Critical',
      reason: 'ReconcilePanics',
      message: `${what} panicked in ${panics.increase} reconcile(s) in the last ${humanDuration(panics.spanMs)}`,
    });
  }

  const depthOf = (samples: readonly Sample[]) => {
    let max = 0; // a loop, not Math.max(...spread): a spread of 100k+ values overflows the stack
    for (const x of samples) if (x.name === 'workqueue_depth' && x.value > max) max = x.value;
    return max;
  };
  const depthFor = durationMs(t.workqueueDepthFor);
  let runStart: number | undefined;
  for (let i = h.length - 1; i >= 0; i--) {
    const entry = h[i];
    if (!entry || depthOf(entry.samples) <= t.maxWorkqueueDepth) break;
    runStart = entry.at;
  }
  if (runStart !== undefined) {
    if (latest.at - runStart >= depthFor)
      out.push({
        severity: 'Warning',
        reason: 'WorkqueueBacklog',
        message: `${what} workqueue depth has stayed above ${t.maxWorkqueueDepth} for longer than ${t.workqueueDepthFor}`,
      });
    else next.when(runStart, depthFor);
  }
  const leader = latest.samples.filter((x) => x.name === 'leader_election_master_status');
  if (leader.length && leader.every((x) => x.value === 0)) {
    out.push({
      severity: 'Warning',
      reason: 'ScrapedReplicaNotLeader',
      message: `the replica of ${what} that was scraped reports leader_election_master_status 0: it is a standby, or (with one replica) nothing is reconciling`,
    });
  }
  const p99 = histogramQuantile(0.99, windowOf(h, windowMs), 'controller_runtime_reconcile_time_seconds_bucket');
  if (p99 !== undefined && p99 * 1000 > durationMs(t.maxReconcileP99)) {
    out.push({
      severity: 'Warning',
      reason: 'SlowReconciles',
      message: `${what} reconcile p99 is ${p99.toFixed(2)}s over ${t.rateWindow} (threshold ${t.maxReconcileP99})`,
    });
  }
  return out;
}
