import type { ComponentDef } from '../api/schema.js';
import type { ComponentSummary, ConditionStatus, Finding } from '../api/types.js';
import type { KubeObject } from '../runtime/objects.js';
import type { Sample } from '../sources/promtext.js';
import type { ScrapeFailure } from '../sources/scrape.js';
import type { LogEvent } from '../sources/zaplog.js';

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
  /**
   * The check does without this source when its list fails before it ever succeeded (e.g. forbidden by a narrower
   * ClusterRole): that view (pending, with an error) is then not waited for and the check is evaluated with it.
   * Not part of the source's identity.
   */
  optional?: boolean;
  /**
   * An update for which this returns true is cached but wakes no monitor: it cannot change any verdict before the
   * deadline the check already asked to be re-evaluated at (e.g. a renewal of a fresh Lease). Same id ⇒ same quiet.
   */
  quiet?: (old: KubeObject, obj: KubeObject) => boolean;
}

export type SourceState = 'pending' | 'synced' | 'absent' | 'failing';

/** What a check sees of one source: the informer cache (read-only) and whether it can be trusted. */
export interface SourceView {
  state: SourceState;
  error?: string;
  /** The HTTP status of that error, when the API server answered one (403: not granted; 429, 5xx: try again). */
  errorStatus?: number;
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
  /**
   * A failing endpoint is reported only once at least two consecutive attempts failed and the first failure is
   * this old (src/checks/scrape-grace.ts); DEFAULT_FAILURE_GRACE_MS when unset. Not part of the scrape's identity:
   * monitors sharing an endpoint each judge its failures with their own grace.
   */
  failureGraceMs?: number;
}

export interface ScrapeView {
  state: 'pending' | 'ok' | 'failing';
  reason?: ScrapeFailure;
  error?: string;
  /** Consecutive failed attempts (state failing), counted since the last answer or the start. */
  failures?: number;
  /** Local time (epoch ms) the first of those failures was recorded. */
  failingSince?: number;
  /** The answers kept, newest last; a failing view keeps those of before the failure. */
  history: readonly { at: number; samples: readonly Sample[] }[];
}

/**
 * Container logs a check follows through the API server (`pods/log`, which the API server proxies to the kubelet):
 * one stream per selected container of the pods one of its sources lists. Only counters of error lines over the
 * window and the last few (redacted) error messages are kept; the controller (src/controller/logs.ts) streams.
 */
export interface LogSpec {
  /** The pods to follow: one of the check's own sources, so their informer is shared and warm. */
  pods: SourceSpec;
  /** The container to follow in each pod; every container of the pod when unset. */
  container?: string;
  /** Counting window; a new stream reads back this far (sinceSeconds), a reconnect from its last line (sinceTime). */
  windowMs: number;
  /** Cap on bytes read per second per stream (the response is paused beyond it). */
  maxBytesPerSecond: number;
  /** At most this many pods are followed (by name). */
  maxPods: number;
}

/** Error lines of one second (`at`, epoch ms): all error-level lines, and "Reconciler error" lines by controller. */
export interface LogBucket {
  at: number;
  errors: number;
  reconcileErrors: Readonly<Record<string, number>>;
}

/** An error line as kept: its time, where it came from and what it says (redacted, truncated). */
export interface LogErrorLine extends LogEvent {
  at: number;
  pod: string;
  container: string;
}

export interface LogStreamView {
  namespace: string;
  pod: string;
  container: string;
  /** pending: not connected yet; ok: connected (or read, for one-shot checks); failing: the last attempt failed. */
  state: 'pending' | 'ok' | 'failing';
  reason?: string;
  error?: string;
  /** Oldest first, within the window. */
  buckets: readonly LogBucket[];
  /** The last few error lines, newest last. */
  last: readonly LogErrorLine[];
}

export interface LogView {
  /** pending until every stream connected or failed once; failing when every stream fails. */
  state: 'pending' | 'ok' | 'failing';
  streams: readonly LogStreamView[];
}

export interface CheckInput<S> {
  spec: S;
  /** Sources by the names the check gave them in sources(). */
  data: Record<string, SourceView>;
  /** Scraped endpoints by the names the check gave them in scrapes(). */
  scrapes: Record<string, ScrapeView>;
  /** Followed container logs by the names the check gave them in logs() (only checks that declare logs get them). */
  logs?: Record<string, LogView>;
  now: Date;
  env: CheckEnv;
  /** The whole (defaulted) spec, for a check that reads another check's section (capacity reads gpuHardware.signals). */
  monitor?: Readonly<Record<string, unknown>>;
}

export interface CheckResult {
  status: ConditionStatus;
  reason: string;
  message: string;
  findings: Omit<Finding, 'component'>[];
  summary?: ComponentSummary;
  /** When a time-based rule would next change the result; the monitor is re-evaluated then. */
  nextCheckAt?: Date;
  /** Values of the gauges the check declares (ComponentCheck.gauges), by metric name; series not set again are removed. */
  gauges?: Record<string, readonly GaugeSample[]>;
}

/** A Prometheus gauge a check exports besides the generic condition, finding and summary metrics. */
export interface GaugeDef {
  help: string;
  /** Its labels besides `monitor`. */
  labelNames: readonly string[];
}

export interface GaugeSample {
  labels: Record<string, string>;
  value: number;
}

/** An RBAC PolicyRule (rbac.authorization.k8s.io/v1) a check's sources need. */
export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
  verbs: string[];
}

/** Facts about the cluster that shape which sources a check reads (from discovery). */
export interface CheckEnv {
  /** The version the API server stores for the check's `storageVersionOf` CRD; undefined when not served. */
  storageVersion?: string;
  /** The storage versions of the check's `versionsOf` CRDs, by its local name; a CRD not served is left out. */
  versions?: Record<string, string>;
}

/**
 * One health check, self-describing: what it reports (condition, label, column), its spec section (schema with
 * defaults), what admission cannot validate (selector fields), what it may read (RBAC), and a pure evaluation of
 * its sources' caches, its spec section and the time. Registering it in registry.ts is all it takes: the CRD,
 * the ClusterRole, validation, status and docs are derived from these fields.
 */
export interface ComponentCheck<S extends { enabled: boolean }, C extends string = string> extends ComponentDef {
  component: C;
  /** One line for the README table of checks. */
  description: string;
  /**
   * Dotted paths of metav1.LabelSelector fields in the section (`list[].field` for each item), checked at run time
   * (Ready=False/InvalidSpec).
   */
  selectors: readonly string[];
  /** The RBAC rules its sources and scrapes need (cluster-wide reads). */
  rbac: readonly PolicyRule[];
  /**
   * RBAC rules it needs only in the namespaces it targets (optional): granted by a Role there, not the ClusterRole
   * (config/rbac/logs_role.yaml, in the namespaces its section defaults to; the chart's podLogs.namespaces).
   */
  namespacedRbac?: readonly PolicyRule[];
  /** A CRD (plural.group) whose storage version the check reads, discovered before binding (CheckEnv). */
  storageVersionOf?: string;
  /** More CRDs whose storage versions it reads, by local name (e.g. Kueue's Cohort: v1alpha1 up to Kueue v0.12). */
  versionsOf?: Record<string, string>;
  /** The collections it needs, by local name. */
  sources(spec: S, env: CheckEnv): Record<string, SourceSpec>;
  /**
   * Metrics endpoints it needs, by local name (optional); `monitor` is the whole (defaulted) spec, for a check that
   * reads another's scrapes.
   */
  scrapes?(spec: S, monitor?: Readonly<Record<string, unknown>>): Record<string, ScrapeSpec>;
  /** Container logs it follows, by local name (optional; only the leader streams them). */
  logs?(spec: S): Record<string, LogSpec>;
  /** Gauges it exports on the operator's /metrics, by name (optional); evaluate() returns their values. */
  gauges?: Readonly<Record<string, GaugeDef>>;
  evaluate(input: CheckInput<S>): CheckResult;
}

/** Any registered check, for code that iterates over the registry. */
export type AnyCheck = ComponentCheck<{ enabled: boolean }>;

/** A source whose first list failed (e.g. forbidden): still pending, with an error. */
export const listFailed = (v: SourceView | undefined): boolean => v?.state === 'pending' && v.error !== undefined;

/** A view to wait for: still listing for the first time, unless the source is optional and that list failed. */
export const awaited = (v: SourceView, spec: SourceSpec | undefined): boolean =>
  v.state === 'pending' && !(spec?.optional === true && listFailed(v));

/** The API server refused the request (401, 403): asking again will not help until credentials or RBAC change. */
export const refused = (v: SourceView): boolean => v.errorStatus === 401 || v.errorStatus === 403;

/**
 * waitingForData over the sources a check cannot do without: an `optional` one (by name) whose first list failed
 * is left out, and the check evaluates without it.
 */
export function waitingForRequired(data: Record<string, SourceView>, optional: readonly string[]): CheckResult | undefined {
  return waitingForData(Object.fromEntries(Object.entries(data).filter(([k, v]) => !(optional.includes(k) && listFailed(v)))));
}

/** Shared rule for every check: Unknown until each source it needs has been listed at least once. */
export function waitingForData(data: Record<string, SourceView>): CheckResult | undefined {
  const pending = Object.entries(data)
    .filter(([, v]) => v.state === 'pending')
    .map(([k]) => k);
  if (!pending.length) return undefined;
  return { status: 'Unknown', reason: 'NotObserved', message: `waiting for the first list of ${pending.join(', ')}`, findings: [] };
}

/** waitingForData, and Unknown when any source is not served (CRD absent). */
export function notObserved(data: Record<string, SourceView>): CheckResult | undefined {
  const waiting = waitingForData(data);
  if (waiting) return waiting;
  const absent = Object.entries(data).filter(([, v]) => v.state === 'absent');
  if (absent.length) {
    return {
      status: 'Unknown',
      reason: 'ResourceNotServed',
      message: `not served by the API server: ${absent.map(([k]) => k).join(', ')}`,
      findings: [],
    };
  }
  return undefined;
}

/** A check bound to one monitor's spec section, so callers need not know its section type. */
export interface BoundCheck {
  check: AnyCheck;
  component: string;
  enabled: boolean;
  sources: Record<string, SourceSpec>;
  scrapes: Record<string, ScrapeSpec>;
  logs: Record<string, LogSpec>;
  evaluate(data: Record<string, SourceView>, scrapes: Record<string, ScrapeView>, now: Date, logs?: Record<string, LogView>): CheckResult;
}

/** Binds a check to its section of a (defaulted) spec. */
export function bindCheck(check: AnyCheck, spec: Record<string, unknown>, env: CheckEnv = {}): BoundCheck {
  const section = (spec[check.component] ?? { enabled: false }) as { enabled: boolean };
  return {
    check,
    component: check.component,
    enabled: section.enabled,
    sources: section.enabled ? check.sources(section, env) : {},
    scrapes: section.enabled ? (check.scrapes?.(section, spec) ?? {}) : {},
    logs: section.enabled ? (check.logs?.(section) ?? {}) : {},
    evaluate: (data, scrapes, now, logs) =>
      check.evaluate({ spec: section, data, scrapes, now, env, monitor: spec, ...(logs ? { logs } : {}) }),
  };
}
