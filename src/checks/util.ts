import { parseQuantity } from '../api/quantity.js';
import type { ComponentSummary, Finding, ObjectRef } from '../api/types.js';
import { isRecord, type KubeObject } from '../runtime/objects.js';
import { observationOf } from '../runtime/observed.js';
import { durationMs } from '../api/duration.js';
import type { CheckResult, ScrapeSpec, ScrapeView } from './types.js';

export type F = Omit<Finding, 'component'>;

export interface ObjCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

export function conditionOf(obj: KubeObject, type: string): ObjCondition | undefined {
  const conds = (obj.status as { conditions?: ObjCondition[] } | undefined)?.conditions;
  // A hostile or broken object may list anything: entries that are not objects are passed over.
  return Array.isArray(conds) ? conds.find((c) => isRecord(c) && c.type === type) : undefined;
}

export function ref(obj: KubeObject, kind: string, apiVersion?: string): ObjectRef {
  return {
    ...(apiVersion ? { apiVersion } : {}),
    kind,
    ...(obj.metadata.namespace ? { namespace: obj.metadata.namespace } : {}),
    name: obj.metadata.name,
  };
}

/** Rows as aligned columns (two spaces apart; the last column as is), each column at most `maxWidth` wide (cut). */
export function alignColumns(rows: readonly string[][], maxWidth = Infinity): string[] {
  const widths = rows[0]?.map((_, i) => Math.min(maxWidth, Math.max(...rows.map((r) => (r[i] ?? '').length)))) ?? [];
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.slice(0, widths[i]).padEnd(widths[i] ?? 0))).join('  '));
}

/** "a, b, c" or "a, b, c and 7 more" — messages stay short on big clusters. */
export function nameList(names: string[], max = 5): string {
  const sorted = [...names].sort();
  return sorted.length <= max ? sorted.join(', ') : `${sorted.slice(0, max).join(', ')} and ${sorted.length - max} more`;
}

/** Milliseconds since an RFC 3339 time; NaN-safe (undefined when absent or unparsable). */
export function ageMs(time: string | undefined, now: Date): number | undefined {
  if (!time) return undefined;
  const t = Date.parse(time);
  return Number.isNaN(t) ? undefined : now.getTime() - t;
}

export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.round(s / 60);
  if (m < 120) return `${m}m`;
  return `${Math.floor(m / 60)}h${m % 60 ? `${m % 60}m` : ''}`;
}

/**
 * A Kubernetes quantity (string, or a JSON number in int-or-string fields) as a finite number, by the rules of
 * apimachinery's resource.Quantity (src/api/quantity.ts). Absent or invalid values count as 0; values beyond
 * double range as ±Number.MAX_VALUE.
 */
export function quantity(q: unknown): number {
  const n = typeof q === 'number' ? q : typeof q === 'string' ? parseQuantity(q) : undefined;
  if (n === undefined || Number.isNaN(n)) return 0;
  return Math.max(-Number.MAX_VALUE, Math.min(Number.MAX_VALUE, n));
}

/** Tracks the earliest future time a rule would change its verdict. */
/** Whether a node has capacity of any of `resources` (a GPU node, for the GPU checks). */
export function hasCapacity(n: KubeObject, resources: readonly string[]): boolean {
  const cap = isRecord(n.status) && isRecord(n.status.capacity) ? n.status.capacity : {};
  return resources.some((r) => quantity(cap[r]) > 0);
}

export class NextCheck {
  at: number | undefined;
  constructor(private readonly now: Date) {}
  /** Consider re-evaluating when `since + thresholdMs` is reached (if that is in the future). */
  when(sinceMs: number, thresholdMs: number): void {
    const t = sinceMs + thresholdMs;
    if (t > this.now.getTime() && (this.at === undefined || t < this.at)) this.at = t;
  }
  get date(): Date | undefined {
    return this.at === undefined ? undefined : new Date(this.at);
  }
}

/**
 * A failing or pending metrics source makes an otherwise healthy component Unknown, with the failure as reason.
 * The controller shows a check a failing source only once the failure persists (src/checks/scrape-grace.ts).
 */
export function scrapeUnknown(what: string, view: ScrapeView | undefined): { reason: string; message: string } | undefined {
  if (!view || view.state === 'ok') return undefined;
  if (view.state === 'pending') return { reason: 'MetricsNotScraped', message: `${what} metrics not scraped yet` };
  return { reason: view.reason ?? 'MetricsUnreachable', message: `${what} metrics: ${view.error ?? 'scrape failed'}` };
}

export interface VerdictOptions {
  summary?: ComponentSummary;
  next?: NextCheck;
  /** Metrics the verdict depends on, by the name used in messages: unless a Critical finding already decides, a
   * failing or pending one makes the component Unknown (with the scrape's reason). */
  scrapes?: Record<string, ScrapeView | undefined>;
}

/**
 * The one way a check ends. False iff a Critical finding exists: the reason is that of the first Critical finding
 * (checks push the most telling ones first) and the message names them all. Otherwise Unknown when a metrics
 * source it depends on is failing or pending, else True. Summary, findings and the next time-based re-check are
 * kept in every case.
 */
export function verdict(findings: F[], healthy: { reason: string; message: string }, opts: VerdictOptions = {}): CheckResult {
  const extra: Pick<CheckResult, 'summary' | 'nextCheckAt'> = {
    ...(opts.summary ? { summary: opts.summary } : {}),
    ...(opts.next?.date ? { nextCheckAt: opts.next.date } : {}),
  };
  const critical = findings.filter((f) => f.severity === 'Critical');
  if (critical.length) {
    const first = critical[0];
    const reason = first?.reason ?? 'Unhealthy';
    const message =
      critical.length === 1
        ? (first?.message ?? '')
        : `${critical.length} problems: ${nameList(
            critical.map((f) => f.message),
            3,
          )}`;
    return { status: 'False', reason, message, findings, ...extra };
  }
  for (const [what, view] of Object.entries(opts.scrapes ?? {})) {
    const unknown = scrapeUnknown(what, view);
    if (unknown) return { status: 'Unknown', ...unknown, findings, ...extra };
  }
  const warnings = findings.filter((f) => f.severity === 'Warning').length;
  const message = warnings ? `${healthy.message} (${warnings} warning${warnings === 1 ? '' : 's'})` : healthy.message;
  return { status: 'True', reason: healthy.reason, message, findings, ...extra };
}

/** Deployment availability: available/desired replicas. */
export function deploymentAvailability(d: KubeObject): { available: number; desired: number } {
  const spec = d.spec as { replicas?: number } | undefined;
  const status = d.status as { availableReplicas?: number } | undefined;
  return { available: status?.availableReplicas ?? 0, desired: spec?.replicas ?? 1 };
}

interface LeaseSpec {
  holderIdentity?: string;
  renewTime?: string;
  leaseDurationSeconds?: number;
}

/** A renewTime further in the future than this is clock skew on the holder's side. */
export const LEASE_SKEW_TOLERANCE_MS = 2000;

/**
 * A Lease update that is only a renewal of a fresh Lease: same holder, duration and transitions, a renewTime not
 * in the future, and the previous version renewed (or seen to change) within leaseDurationSeconds. Such an
 * update can only push the expiry leaseFindings asked to be re-checked at further out, so it wakes no monitor
 * (the informer still caches it, and its observed change time): a leader renewing every 2 s costs a JSON parse,
 * not an evaluation. Anything else — a new holder, a release, a stale Lease renewed again, skew — is a change.
 */
export function quietRenewal(old: KubeObject, obj: KubeObject, nowMs = Date.now()): boolean {
  const a = (old.spec ?? {}) as LeaseSpec & { leaseTransitions?: number; acquireTime?: string };
  const b = (obj.spec ?? {}) as LeaseSpec & { leaseTransitions?: number; acquireTime?: string };
  if (
    !a.holderIdentity ||
    a.holderIdentity !== b.holderIdentity ||
    a.leaseDurationSeconds !== b.leaseDurationSeconds ||
    a.leaseTransitions !== b.leaseTransitions ||
    a.acquireTime !== b.acquireTime
  )
    return false;
  const before = a.renewTime ? Date.parse(a.renewTime) : NaN;
  const after = b.renewTime ? Date.parse(b.renewTime) : NaN;
  if (!(after <= nowMs + LEASE_SKEW_TOLERANCE_MS) || !(before <= nowMs + LEASE_SKEW_TOLERANCE_MS) || !(after >= before)) return false;
  const last = Math.max(before, observationOf(old)?.changedAt ?? -Infinity);
  return nowMs - last < (a.leaseDurationSeconds ?? 15) * 1000;
}

/**
 * A controller-runtime leader Lease: Critical when missing, not renewed within leaseDurationSeconds + grace, or
 * released (no holder) and not taken by anyone within that limit; otherwise asks to be re-checked exactly when
 * it would expire.
 *
 * Freshness is judged like client-go's leader election, without trusting the holder's clock: the last renewal is
 * the later of renewTime (only when it is not in the future) and the local time this process saw the Lease change
 * (observationOf, recorded by the informer). A renewTime in the future is a Warning (LeaseClockSkew) and the Lease
 * is then judged by observed time alone (since its first sighting when no change was seen yet).
 */
export function leaseFindings(
  lease: KubeObject | undefined,
  what: string,
  leaseName: string,
  namespace: string,
  graceMs: number,
  now: Date,
  next: NextCheck,
): F[] {
  const obj = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace, name: leaseName };
  if (!lease)
    return [
      {
        severity: 'Critical',
        reason: 'NoLeader',
        message: `${what} has no leader: Lease ${namespace}/${leaseName} not found`,
        object: obj,
      },
    ];
  const spec = (lease.spec ?? {}) as LeaseSpec;
  const renew = spec.renewTime ? Date.parse(spec.renewTime) : NaN;
  if (!spec.holderIdentity && Number.isNaN(renew))
    return [
      {
        severity: 'Critical',
        reason: 'NoLeader',
        message: `${what} has no leader: Lease ${namespace}/${leaseName} has no holder`,
        object: obj,
      },
    ];
  if (Number.isNaN(renew))
    return [
      { severity: 'Critical', reason: 'NoLeader', message: `${what} leader Lease ${namespace}/${leaseName} has no renewTime`, object: obj },
    ];
  const nowMs = now.getTime();
  const seen = observationOf(lease);
  const skewed = renew > nowMs + LEASE_SKEW_TOLERANCE_MS;
  const trusted = skewed ? -Infinity : Math.min(renew, nowMs);
  const observed = seen?.changedAt ?? (skewed ? (seen?.firstSeen ?? nowMs) : -Infinity);
  const last = Math.max(trusted, observed);
  const limit = (spec.leaseDurationSeconds ?? 15) * 1000 + graceMs;
  const findings: F[] = [];
  if (skewed) {
    findings.push({
      severity: 'Warning',
      reason: 'LeaseClockSkew',
      object: obj,
      message: `${what} leader ${spec.holderIdentity} wrote renewTime ${spec.renewTime ?? ''} on Lease ${namespace}/${leaseName}, ${humanDuration(renew - nowMs)} in the future: clock skew; judged by when the Lease was seen to change`,
    });
  }
  if (!spec.holderIdentity) {
    // Released on shutdown (client-go ReleaseOnCancel: no holder, leaseDurationSeconds 1, renewTime = release): a
    // handover in progress, e.g. Kueue's rolling restart. Nobody taking it within the limit means no leader.
    if (nowMs - last <= limit) {
      next.when(last, limit + 1);
      return findings;
    }
    findings.unshift({
      severity: 'Critical',
      reason: 'NoLeader',
      object: obj,
      message: `${what} has no leader: Lease ${namespace}/${leaseName} was released at ${spec.renewTime ?? ''} and nobody took it within ${humanDuration(limit)}`,
    });
    return findings;
  }
  if (nowMs - last > limit) {
    const since = last === trusted ? (spec.renewTime ?? '') : `${new Date(last).toISOString()} (last change seen)`;
    findings.unshift({
      severity: 'Critical',
      reason: 'LeaderLeaseExpired',
      object: obj,
      message: `${what} is not reconciling: leader ${spec.holderIdentity} has not renewed Lease ${namespace}/${leaseName} since ${since} (limit ${humanDuration(limit)})`,
    });
    return findings;
  }
  next.when(last, limit + 1);
  return findings;
}

/** What a spec says about a Prometheus HTTP API to query (gpuNodes.utilization, gpuHardware.signals). */
export interface PrometheusSettings {
  prometheusURL?: string;
  interval: string;
  timeout: string;
  failureGrace: string;
  tls: { insecureSkipVerify: boolean; caBundle?: string };
}

/** The scrape of one instant query against a spec's Prometheus (no token, the newest answer kept). */
export function prometheusScrape(p: PrometheusSettings, query: string): ScrapeSpec {
  return {
    url: p.prometheusURL ?? '',
    query,
    intervalMs: durationMs(p.interval),
    timeoutMs: durationMs(p.timeout),
    maxBytes: 16 * 1024 * 1024,
    tls: { insecureSkipVerify: p.tls.insecureSkipVerify, ...(p.tls.caBundle ? { caBundle: p.tls.caBundle } : {}) },
    bearerToken: { source: 'None' },
    keep: [],
    historySize: 1,
    failureGraceMs: durationMs(p.failureGrace),
  };
}
