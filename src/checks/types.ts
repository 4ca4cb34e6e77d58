import type { ComponentSummary, Component, ConditionStatus, Finding, KaiwoMonitorSpec } from '../api/types.js';
import type { KubeObject } from '../runtime/objects.js';
import type { Sample } from '../sources/promtext.js';
import type { ScrapeFailure } from '../sources/scrape.js';

/** A collection a check reads, served by a shared informer. */
export interface SourceSpec {
  /** "v1", "apps/v1", "kueue.x-k8s.io/v1beta2", ... */
  apiVersion: string;
  plural: string;
  kind: string;
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Slims objects before caching (e.g. drop Node images or Workload pod templates). Same id ⇒ same transform. */
  transform?: (obj: KubeObject) => KubeObject;
}

export type SourceState = 'pending' | 'synced' | 'absent' | 'failing';

/** What a check sees of one source: the informer cache (read-only) and whether it can be trusted. */
export interface SourceView {
  state: SourceState;
  error?: string;
  objects: readonly KubeObject[];
}

/**
 * A metrics source a check reads, polled on its own interval by the controller: a Prometheus-text endpoint
 * (`/metrics`), or an instant PromQL query against a Prometheus HTTP API when `query` is set.
 */
export interface ScrapeSpec {
  url: string;
  query?: string;
  intervalMs: number;
  timeoutMs: number;
  maxBytes: number;
  tls: { insecureSkipVerify: boolean; caBundle?: string; serverName?: string };
  bearerToken: { source: 'ServiceAccount' | 'Secret' | 'None'; secretRef?: { namespace: string; name: string; key: string } };
  /** Metric names (or prefixes ending in "*") to keep from each scrape; everything else is dropped at once. */
  keep: string[];
  /** Scrapes kept, newest last (enough to cover the check's longest window). */
  historySize: number;
}

export interface ScrapeView {
  state: 'pending' | 'ok' | 'failing';
  reason?: ScrapeFailure;
  error?: string;
  history: readonly { at: number; samples: readonly Sample[] }[];
}

export interface CheckInput<S> {
  spec: S;
  /** Sources by the names the check gave them in sources(). */
  data: Record<string, SourceView>;
  /** Scraped endpoints by the names the check gave them in scrapes(). */
  scrapes: Record<string, ScrapeView>;
  now: Date;
}

export interface CheckResult {
  status: ConditionStatus;
  reason: string;
  message: string;
  findings: Omit<Finding, 'component'>[];
  summary?: ComponentSummary;
  /** When a time-based rule would next change the result; the monitor is re-evaluated then. */
  nextCheckAt?: Date;
}

/** One health check: a pure function of its sources' caches, its spec section and the time. */
export interface ComponentCheck<S extends { enabled: boolean }> {
  component: Component;
  /** The spec section this check reads. */
  section(spec: KaiwoMonitorSpec): S;
  /** The collections it needs, by local name. */
  sources(spec: S): Record<string, SourceSpec>;
  /** Metrics endpoints it needs, by local name (optional). */
  scrapes?(spec: S): Record<string, ScrapeSpec>;
  evaluate(input: CheckInput<S>): CheckResult;
}

/** Shared rule for every check: Unknown until each source it needs has been listed at least once. */
export function waitingForData(data: Record<string, SourceView>): CheckResult | undefined {
  const pending = Object.entries(data).filter(([, v]) => v.state === 'pending').map(([k]) => k);
  if (!pending.length) return undefined;
  return { status: 'Unknown', reason: 'NotObserved', message: `waiting for the first list of ${pending.join(', ')}`, findings: [] };
}

/** waitingForData, and Unknown when any source is not served (CRD absent). */
export function notObserved(data: Record<string, SourceView>): CheckResult | undefined {
  const waiting = waitingForData(data);
  if (waiting) return waiting;
  const absent = Object.entries(data).filter(([, v]) => v.state === 'absent');
  if (absent.length) {
    return { status: 'Unknown', reason: 'ResourceNotServed', message: `not served by the API server: ${absent.map(([k]) => k).join(', ')}`, findings: [] };
  }
  return undefined;
}

/** A check bound to one monitor's spec section, so callers need not know its section type. */
export interface BoundCheck {
  component: Component;
  enabled: boolean;
  sources: Record<string, SourceSpec>;
  scrapes: Record<string, ScrapeSpec>;
  evaluate(data: Record<string, SourceView>, scrapes: Record<string, ScrapeView>, now: Date): CheckResult;
}

export function bindCheck<S extends { enabled: boolean }>(check: ComponentCheck<S>, spec: KaiwoMonitorSpec): BoundCheck {
  const section = check.section(spec);
  return {
    component: check.component,
    enabled: section.enabled,
    sources: section.enabled ? check.sources(section) : {},
    scrapes: section.enabled ? (check.scrapes?.(section) ?? {}) : {},
    evaluate: (data, scrapes, now) => check.evaluate({ spec: section, data, scrapes, now }),
  };
}
