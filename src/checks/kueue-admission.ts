import type { KubeObject } from '../runtime/objects.js';
import { observationOf } from '../runtime/observed.js';
import { conditionOf, type F, type NextCheck, ref } from './util.js';

/** How long a new ClusterQueue, AdmissionCheck or MultiKueueCluster may stay not Active (not reconciled yet). */
export const NEW_QUEUE_GRACE_MS = 30_000;

/**
 * Whether a not-yet-Active object is still new: first seen by this process (local clock) and created (server clock)
 * within the grace. A restarted monitor therefore reports an old inactive object at once, and a wrong remote clock
 * cannot hold a verdict back beyond the grace. Asks to be re-evaluated when the grace ends.
 */
export function young(obj: KubeObject, now: Date, next: NextCheck): boolean {
  const firstSeen = observationOf(obj)?.firstSeen ?? now.getTime();
  const created = Date.parse(obj.metadata.creationTimestamp ?? '');
  const isYoung =
    now.getTime() - firstSeen < NEW_QUEUE_GRACE_MS && Number.isFinite(created) && now.getTime() - created < NEW_QUEUE_GRACE_MS;
  if (isYoung) next.when(firstSeen, NEW_QUEUE_GRACE_MS);
  return isYoung;
}

/** The admission checks a ClusterQueue requires: v1beta1 `admissionChecks` (names) and `admissionChecksStrategy` (both versions). */
export function admissionChecksOf(cq: KubeObject): string[] {
  const spec = (cq.spec ?? {}) as { admissionChecks?: unknown; admissionChecksStrategy?: { admissionChecks?: unknown } | null };
  const out = new Set<string>();
  if (Array.isArray(spec.admissionChecks)) for (const n of spec.admissionChecks) if (typeof n === 'string') out.add(n);
  const strategy = spec.admissionChecksStrategy?.admissionChecks;
  if (Array.isArray(strategy))
    for (const r of strategy) {
      const n = (r as { name?: unknown } | null)?.name;
      if (typeof n === 'string') out.add(n);
    }
  return [...out];
}

const why = (c: { reason?: string; message?: string } | undefined, none: string) =>
  c ? `(${c.reason ?? ''})${c.message ? `: ${c.message}` : ''}` : `(${none})`;

/**
 * AdmissionChecks the selected ClusterQueues require and MultiKueueClusters: a required check that is not Active stops
 * Kueue admitting into those queues (Critical, naming the check, its controller and the queues); a MultiKueueCluster
 * that is not Active (cannot connect to the worker cluster) is a Warning (its check may still use other clusters).
 * Checks no selected queue uses are not judged. New objects get the grace their controller needs to reconcile them.
 */
export function admissionCheckFindings(
  checks: readonly KubeObject[],
  clusters: readonly KubeObject[],
  cqs: readonly KubeObject[],
  apiVersion: string,
  now: Date,
  next: NextCheck,
): F[] {
  const users = new Map<string, string[]>();
  for (const cq of cqs) for (const n of admissionChecksOf(cq)) users.set(n, [...(users.get(n) ?? []), cq.metadata.name]);
  const out: F[] = [];
  for (const ac of checks) {
    const queues = users.get(ac.metadata.name);
    if (!queues) continue;
    const active = conditionOf(ac, 'Active');
    if (active?.status === 'True') continue;
    const controller = (ac.spec as { controllerName?: unknown } | undefined)?.controllerName;
    const by = typeof controller === 'string' ? ` (controller ${controller})` : '';
    const state = why(
      active,
      typeof controller === 'string' ? `no Active condition: ${controller} has not marked it` : 'no Active condition',
    );
    const object = ref(ac, 'AdmissionCheck', apiVersion);
    const gates = `ClusterQueue${queues.length > 1 ? 's' : ''} ${queues.sort().join(', ')}`;
    if (young(ac, now, next)) {
      out.push({
        severity: 'Warning',
        reason: 'AdmissionCheckNotReady',
        object,
        message: `new admission check ${ac.metadata.name}${by} is not Active yet ${state}; Critical if it stays so ${NEW_QUEUE_GRACE_MS / 1000}s`,
      });
      continue;
    }
    out.push({
      severity: 'Critical',
      reason: 'AdmissionCheckInactive',
      object,
      message: `admission check ${ac.metadata.name}${by} is not Active ${state}: ${gates} admit no Workloads`,
    });
  }
  for (const c of clusters) {
    const active = conditionOf(c, 'Active');
    if (active?.status === 'True' || young(c, now, next)) continue;
    out.push({
      severity: 'Warning',
      reason: 'MultiKueueClusterInactive',
      object: ref(c, 'MultiKueueCluster', apiVersion),
      message: `MultiKueueCluster ${c.metadata.name} is not connected ${why(active, 'no Active condition: Kueue has not reconciled it')}: MultiKueue dispatches no Workloads to it`,
    });
  }
  return out;
}
