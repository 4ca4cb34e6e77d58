import type { KueueSpec } from '../api/types.js';
import { durationMs } from '../api/duration.js';
import type { KubeObject } from '../runtime/objects.js';
import { selectorString } from '../runtime/selector.js';
import { deploymentFindings } from './operator.js';
import { CONTROLLER_RUNTIME_METRICS, controllerMetricsFindings, counterIncrease, scrapeSpecFor, scrapeUnknown } from './controller-metrics.js';
import { sumOf } from '../sources/promtext.js';
import { type ComponentCheck, type ScrapeSpec, type SourceView, waitingForData } from './types.js';
import { ageMs, conditionOf, type F, leaseFindings, NextCheck, quantity, ref, verdict } from './util.js';

export const KUEUE_GROUP = 'kueue.x-k8s.io';

/** Workloads embed full pod templates (the CRD is 1.4 MB); keep what the check reads. */
function slimWorkload(w: KubeObject): KubeObject {
  const spec = (w.spec ?? {}) as { queueName?: string; active?: boolean; podSets?: { name?: string; count?: number }[] };
  return { ...w, spec: { queueName: spec.queueName, active: spec.active, podSets: (spec.podSets ?? []).map((p) => ({ name: p.name, count: p.count })) } };
}

interface FlavorUsage { name: string; resources?: { name: string; total?: unknown }[] }
interface CQSpec { resourceGroups?: { flavors?: { name: string; resources?: { name: string; nominalQuota?: unknown }[] }[] }[] }
interface CQStatus { pendingWorkloads?: number; admittedWorkloads?: number; flavorsUsage?: FlavorUsage[] }
interface WLStatus { admission?: { clusterQueue?: string }; admissionChecks?: { name: string; state?: string; message?: string }[] }

/**
 * Kueue: its controller Deployment and leader Lease, ClusterQueue/LocalQueue `Active`, pending backlogs, quota
 * usage, the oldest pending Workload per ClusterQueue, evictions in a window and rejected admission checks.
 * Reads v1beta2 or v1beta1, whichever the API server stores (`apiVersion` is chosen by the controller).
 */
export const kueueCheck: ComponentCheck<KueueSpec & { apiVersion?: string }> = {
  component: 'kueue',
  section: (s) => s.kueue,
  sources: (s) => {
    const v = `${KUEUE_GROUP}/${s.apiVersion ?? 'v1beta2'}`;
    return {
      deployments: { apiVersion: 'apps/v1', plural: 'deployments', kind: 'Deployment', namespace: s.namespace, fieldSelector: `metadata.name=${s.deploymentName}` },
      leases: { apiVersion: 'coordination.k8s.io/v1', plural: 'leases', kind: 'Lease', namespace: s.namespace, fieldSelector: `metadata.name=${s.leaseName}` },
      clusterQueues: { apiVersion: v, plural: 'clusterqueues', kind: 'ClusterQueue', labelSelector: selectorString(s.clusterQueueSelector) },
      localQueues: { apiVersion: v, plural: 'localqueues', kind: 'LocalQueue' },
      workloads: { apiVersion: v, plural: 'workloads', kind: 'Workload', transform: slimWorkload },
      ...(selectorString(s.localQueueNamespaceSelector) ? { namespaces: { apiVersion: 'v1', plural: 'namespaces', kind: 'Namespace', labelSelector: selectorString(s.localQueueNamespaceSelector) } } : {}),
    };
  },
  scrapes: (s): Record<string, ScrapeSpec> => (s.metrics.enabled && s.metrics.url ? { metrics: scrapeSpecFor(s.metrics, [...CONTROLLER_RUNTIME_METRICS, 'kueue_admission_attempts_total', 'kueue_pending_workloads'], 60_000) } : {}),
  evaluate: ({ spec, data, scrapes, now }) => {
    const waiting = waitingForData(data);
    if (waiting) return waiting;
    if (data.clusterQueues?.state === 'absent') {
      return { status: 'Unknown', reason: 'KueueNotInstalled', message: `Kueue's API (${KUEUE_GROUP}/${spec.apiVersion ?? 'v1beta2'}) is not served: Kueue CRDs are not installed`, findings: [] };
    }
    const apiVersion = `${KUEUE_GROUP}/${spec.apiVersion ?? 'v1beta2'}`;
    const next = new NextCheck(now);
    const byName = (v: SourceView | undefined, n: string) => v?.objects.find((o) => o.metadata.name === n);
    const findings: F[] = [
      ...deploymentFindings(byName(data.deployments, spec.deploymentName), 'Kueue controller', spec.namespace, spec.deploymentName),
      ...leaseFindings(byName(data.leases, spec.leaseName), 'Kueue', spec.leaseName, spec.namespace, 5000, now, next),
    ];
    const nsFilter = data.namespaces ? new Set(data.namespaces.objects.map((n) => n.metadata.name)) : undefined;
    const inScope = (o: KubeObject) => !nsFilter || nsFilter.has(o.metadata.namespace ?? '');

    // ClusterQueues
    const cqs = data.clusterQueues?.objects ?? [];
    const inactive: string[] = [];
    let pendingTotal = 0;
    for (const cq of cqs) {
      const object = ref(cq, 'ClusterQueue', apiVersion);
      const active = conditionOf(cq, 'Active');
      if (active?.status !== 'True') {
        inactive.push(cq.metadata.name);
        findings.push({ severity: 'Critical', reason: 'ClusterQueueInactive', object, message: `ClusterQueue ${cq.metadata.name} is inactive (${active?.reason ?? 'no Active condition'})${active?.message ? `: ${active.message}` : ''}` });
      }
      const st = (cq.status ?? {}) as CQStatus;
      pendingTotal += st.pendingWorkloads ?? 0;
      if ((st.pendingWorkloads ?? 0) > spec.maxPendingWorkloads) {
        findings.push({ severity: 'Warning', reason: 'PendingBacklog', object, message: `ClusterQueue ${cq.metadata.name} has ${st.pendingWorkloads ?? 0} pending workloads (threshold ${spec.maxPendingWorkloads})` });
      }
      const nominal = new Map<string, number>();
      for (const g of (cq.spec as CQSpec | undefined)?.resourceGroups ?? []) {
        for (const f of g.flavors ?? []) for (const r of f.resources ?? []) nominal.set(`${f.name}/${r.name}`, quantity(r.nominalQuota));
      }
      for (const f of st.flavorsUsage ?? []) {
        for (const r of f.resources ?? []) {
          const quota = nominal.get(`${f.name}/${r.name}`) ?? 0;
          const used = quantity(r.total);
          if (quota > 0 && (100 * used) / quota >= spec.quotaWarningPercent) {
            findings.push({ severity: 'Warning', reason: 'QuotaNearlyExhausted', object, message: `ClusterQueue ${cq.metadata.name} uses ${((100 * used) / quota).toFixed(0)}% of its nominal ${r.name} quota in flavor ${f.name}` });
          }
        }
      }
    }

    // LocalQueues
    const lqToCq = new Map<string, string>();
    for (const lq of (data.localQueues?.objects ?? []).filter(inScope)) {
      lqToCq.set(`${lq.metadata.namespace ?? ''}/${lq.metadata.name}`, (lq.spec as { clusterQueue?: string } | undefined)?.clusterQueue ?? '');
      const active = conditionOf(lq, 'Active');
      if (active && active.status !== 'True') {
        findings.push({ severity: 'Warning', reason: 'LocalQueueInactive', object: ref(lq, 'LocalQueue', apiVersion), message: `LocalQueue ${lq.metadata.namespace ?? ''}/${lq.metadata.name} is inactive (${active.reason ?? ''}): workloads submitted to it wait` });
      }
    }

    // Workloads
    const maxAge = durationMs(spec.maxPendingAge);
    const evictionWindow = durationMs(spec.evictionWindow);
    const oldest = new Map<string, { w: KubeObject; age: number; since: string }>();
    let evictions = 0;
    const selectedCqs = new Set(cqs.map((c) => c.metadata.name));
    for (const w of (data.workloads?.objects ?? []).filter(inScope)) {
      const st = (w.status ?? {}) as WLStatus;
      const finished = conditionOf(w, 'Finished')?.status === 'True';
      const reserved = conditionOf(w, 'QuotaReserved');
      const queue = `${w.metadata.namespace ?? ''}/${(w.spec as { queueName?: string } | undefined)?.queueName ?? ''}`;
      const cq = st.admission?.clusterQueue ?? lqToCq.get(queue) ?? '';
      if (cqs.length && cq && !selectedCqs.has(cq)) continue;
      const evicted = conditionOf(w, 'Evicted');
      const evictedAge = evicted?.status === 'True' ? ageMs(evicted.lastTransitionTime, now) : undefined;
      if (evictedAge !== undefined && evictedAge < evictionWindow) {
        evictions++;
        next.when(now.getTime() - evictedAge, evictionWindow);
      }
      for (const ac of st.admissionChecks ?? []) {
        if (ac.state === 'Rejected') findings.push({ severity: 'Warning', reason: 'AdmissionCheckRejected', object: ref(w, 'Workload', apiVersion), message: `admission check ${ac.name} rejected Workload ${w.metadata.namespace ?? ''}/${w.metadata.name}${ac.message ? `: ${ac.message}` : ''}` });
      }
      const inactiveWl = (w.spec as { active?: boolean } | undefined)?.active === false;
      if (finished || inactiveWl || reserved?.status === 'True') continue;
      const since = reserved?.lastTransitionTime ?? w.metadata.creationTimestamp ?? now.toISOString();
      const age = ageMs(since, now) ?? 0;
      const key = cq || queue;
      const cur = oldest.get(key);
      if (!cur || age > cur.age) oldest.set(key, { w, age, since });
    }
    for (const [cq, { w, age, since }] of oldest) {
      if (age >= maxAge) {
        findings.push({ severity: 'Critical', reason: 'WorkloadPendingTooLong', object: ref(w, 'Workload', apiVersion), since, message: `Workload ${w.metadata.namespace ?? ''}/${w.metadata.name} pending in ${cq} since ${since}, longer than ${spec.maxPendingAge}; check kubectl describe workload and the ClusterQueue's quota` });
      } else {
        next.when(now.getTime() - age, maxAge);
      }
    }
    if (evictions > spec.maxEvictions) {
      findings.push({ severity: 'Warning', reason: 'FrequentEvictions', message: `${evictions} Workloads evicted in the last ${spec.evictionWindow} (threshold ${spec.maxEvictions})` });
    }
    const m = scrapes.metrics;
    const [prev, latest] = [m?.history.at(-2), m?.history.at(-1)];
    if (m && prev && latest) {
      findings.push(...controllerMetricsFindings('Kueue', m, { maxReconcileErrorsPerMinute: 60, maxWorkqueueDepth: 1000, workqueueDepthFor: '10m', maxReconcileP99: '60s' }, now, next));
      const inadmissible = counterIncrease(sumOf(prev.samples, 'kueue_admission_attempts_total', { result: 'inadmissible' }), sumOf(latest.samples, 'kueue_admission_attempts_total', { result: 'inadmissible' }));
      const perMinute = (inadmissible * 60_000) / Math.max(1, latest.at - prev.at);
      if (perMinute > spec.metrics.maxInadmissibleAttemptsPerMinute) {
        findings.push({ severity: 'Warning', reason: 'InadmissibleAttempts', message: `Kueue finds workloads inadmissible ${perMinute.toFixed(0)} times a minute (threshold ${spec.metrics.maxInadmissibleAttemptsPerMinute}): quota or flavors do not fit the demand` });
      }
    }
    const activeCount = cqs.length - inactive.length;
    const unknown = findings.some((f) => f.severity === 'Critical') ? undefined : scrapeUnknown('Kueue', m);
    if (unknown) return { status: 'Unknown', ...unknown, findings };
    return verdict(findings, { reason: 'KueueHealthy', message: `${activeCount}/${cqs.length} ClusterQueues active, ${pendingTotal} workloads pending` }, {
      summary: {
        display: `${activeCount}/${cqs.length} CQ active`,
        counts: { clusterQueues: cqs.length, inactiveClusterQueues: inactive.length, pendingWorkloads: pendingTotal, evictions },
      },
      ...(next.date ? { nextCheckAt: next.date } : {}),
    });
  },
};
