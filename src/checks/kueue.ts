import { memoFold } from './memo.js';
import { durationMs } from '../api/duration.js';
import { controllerThresholds, dur, int, labelSelectorSchema, metricsEndpoint, obj } from '../api/schema.js';
import type { LabelSelector, MetricsEndpoint } from '../api/types.js';
import type { KubeObject } from '../runtime/objects.js';
import { selectorString } from '../runtime/selector.js';
import {
  CONTROLLER_RUNTIME_METRICS,
  controllerMetricsFindings,
  type ControllerThresholds,
  historyCapacityMs,
  scrapeSpecFor,
  windowRate,
} from './controller-metrics.js';
import {
  byName,
  CONTROLLER_RBAC,
  controllerFields,
  type ControllerSpec,
  deploymentFindings,
  deploymentSource,
  leaseSource,
  podFindings,
  podSource,
} from './pods.js';
import { type ComponentCheck, type ScrapeSpec, waitingForRequired } from './types.js';
import { conditionOf, type F, humanDuration, leaseFindings, NextCheck, quantity, ref, verdict } from './util.js';
import { slimWorkload } from './workload-projection.js';
import { admissionCheckFindings, NEW_QUEUE_GRACE_MS, young } from './kueue-admission.js';
import { evictionsByReason, foldWorkloads, lifecycleFindings, rankedReasons } from './kueue-workloads.js';
import { KUEUE_METRICS, kueueMetrics, queueMetricsNote } from './kueue-metrics.js';

export { NEW_QUEUE_GRACE_MS } from './kueue-admission.js';

export interface KueueSpec extends ControllerSpec {
  clusterQueueSelector: LabelSelector;
  localQueueNamespaceSelector: LabelSelector;
  maxPendingWorkloads: number;
  maxPendingAge: string;
  quotaWarningPercent: number;
  evictionWindow: string;
  maxEvictions: number;
  maxAdmissionCheckWait: string;
  metrics: MetricsEndpoint & ControllerThresholds & { maxInadmissibleAttemptsPerMinute: number };
}

export const KUEUE_GROUP = 'kueue.x-k8s.io';

interface FlavorUsage {
  name: string;
  resources?: { name: string; total?: unknown }[];
}
interface CQSpec {
  resourceGroups?: { flavors?: { name: string; resources?: { name: string; nominalQuota?: unknown }[] }[] }[];
}
interface CQStatus {
  pendingWorkloads?: number;
  admittedWorkloads?: number;
  flavorsUsage?: FlavorUsage[];
}
/**
 * Kueue: its controller Deployment and leader Lease, ClusterQueue/LocalQueue `Active`, pending backlogs, quota
 * usage, the oldest pending Workload per ClusterQueue, the admission checks the queues require and MultiKueue
 * clusters, evictions in a window by reason, and the Workload lifecycle (kueue-workloads.ts).
 * Reads v1beta2 or v1beta1, whichever the API server stores (`apiVersion` is chosen by the controller).
 */
export const kueueCheck: ComponentCheck<KueueSpec, 'kueue'> = {
  component: 'kueue',
  conditionType: 'KueueHealthy',
  label: 'Kueue',
  column: 'Kueue',
  description:
    'controller Deployment, pods and leader Lease, ClusterQueue/LocalQueue Active, pending backlog and age, quota usage, ' +
    'admission checks and MultiKueue clusters, evictions by reason, deactivated Workloads, Workloads held by admission checks or on ' +
    "unhealthy nodes, optional controller metrics and Kueue's own (evictions by reason, inadmissible Workloads)",
  storageVersionOf: `clusterqueues.${KUEUE_GROUP}`,
  schema: obj('Kueue (KueueHealthy)', {
    ...controllerFields('Kueue', {
      namespace: 'kueue-system',
      deployment: 'kueue-controller-manager',
      podLabels: { 'control-plane': 'controller-manager' },
      lease: 'c1f6bfd2.kueue.x-k8s.io',
    }),
    clusterQueueSelector: labelSelectorSchema('ClusterQueues to check (default: all)', {}),
    localQueueNamespaceSelector: labelSelectorSchema('namespaces whose LocalQueues and Workloads to check (default: all)', {}),
    maxPendingWorkloads: int('pending workloads per ClusterQueue considered a backlog', 100, 0, 10000000),
    maxPendingAge: dur('oldest pending Workload age per ClusterQueue before it is a finding', '30m', '1s', '720h'),
    quotaWarningPercent: int('usage of nominal quota (percent) that raises a Warning', 95, 1, 1000),
    evictionWindow: dur('evictions are counted over this window', '15m', '1m', '24h'),
    maxAdmissionCheckWait: dur(
      'how long an admission check may hold a Workload with reserved quota in Pending or Retry before a Warning',
      '30m',
      '1s',
      '720h',
    ),
    maxEvictions: int('evictions within evictionWindow before a Warning', 5, 0, 100000),
    metrics: metricsEndpoint('the Kueue metrics endpoint (HTTPS on 8443 with token auth)', {
      ...controllerThresholds({ errorsPerMinute: 60, depth: 1000, depthFor: '10m', p99: '60s' }),
      maxInadmissibleAttemptsPerMinute: int('inadmissible admission attempts per minute that raise a Warning', 30, 0, 10000000),
    }),
  }),
  selectors: ['podSelector', 'clusterQueueSelector', 'localQueueNamespaceSelector'],
  rbac: [
    ...CONTROLLER_RBAC,
    { apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'list', 'watch'] },
    {
      apiGroups: [KUEUE_GROUP],
      resources: ['clusterqueues', 'localqueues', 'workloads', 'admissionchecks', 'multikueueclusters'],
      verbs: ['get', 'list', 'watch'],
    },
    {
      apiGroups: ['apiextensions.k8s.io'],
      resources: ['customresourcedefinitions'],
      resourceNames: [`clusterqueues.${KUEUE_GROUP}`],
      verbs: ['get'],
    },
    { nonResourceURLs: ['/metrics'], verbs: ['get'] },
  ],
  sources: (s, env) => {
    const v = `${KUEUE_GROUP}/${env.storageVersion ?? 'v1beta2'}`;
    const namespaces = selectorString(s.localQueueNamespaceSelector);
    return {
      deployments: deploymentSource(s.namespace, s.deploymentName),
      pods: podSource(s.namespace, s.podSelector),
      leases: leaseSource(s.namespace, s.leaseName),
      clusterQueues: {
        apiVersion: v,
        plural: 'clusterqueues',
        kind: 'ClusterQueue',
        labelSelector: selectorString(s.clusterQueueSelector),
      },
      localQueues: { apiVersion: v, plural: 'localqueues', kind: 'LocalQueue' },
      workloads: { apiVersion: v, plural: 'workloads', kind: 'Workload', transform: slimWorkload },
      // Optional: a ClusterRole granted before these rules were added (or a narrower one) leaves them unchecked.
      admissionChecks: { apiVersion: v, plural: 'admissionchecks', kind: 'AdmissionCheck', optional: true },
      multiKueueClusters: { apiVersion: v, plural: 'multikueueclusters', kind: 'MultiKueueCluster', optional: true },
      ...(namespaces ? { namespaces: { apiVersion: 'v1', plural: 'namespaces', kind: 'Namespace', labelSelector: namespaces } } : {}),
    };
  },
  scrapes: (s): Record<string, ScrapeSpec> =>
    s.metrics.enabled && s.metrics.url
      ? {
          metrics: scrapeSpecFor(
            s.metrics,
            [...CONTROLLER_RUNTIME_METRICS, ...KUEUE_METRICS],
            Math.max(60_000, durationMs(s.metrics.workqueueDepthFor)),
          ),
        }
      : {},
  evaluate: ({ spec, data, scrapes, now, env }) => {
    // Admission checks and MultiKueue clusters are optional: a list that fails (forbidden) is done without.
    const waiting = waitingForRequired(data, ['admissionChecks', 'multiKueueClusters']);
    if (waiting) return waiting;
    if (data.clusterQueues?.state === 'absent') {
      return {
        status: 'Unknown',
        reason: 'KueueNotInstalled',
        message: `Kueue's API (${KUEUE_GROUP}/${env.storageVersion ?? 'v1beta2'}) is not served: Kueue CRDs are not installed`,
        findings: [],
      };
    }
    const apiVersion = `${KUEUE_GROUP}/${env.storageVersion ?? 'v1beta2'}`;
    const next = new NextCheck(now);
    const findings: F[] = [
      ...deploymentFindings(byName(data.deployments, spec.deploymentName), 'Kueue controller', spec.namespace, spec.deploymentName),
      ...podFindings(data.pods?.objects ?? [], 'Kueue controller', durationMs(spec.restartWindow), spec.maxRestarts, now, next),
      ...leaseFindings(
        byName(data.leases, spec.leaseName),
        'Kueue',
        spec.leaseName,
        spec.namespace,
        durationMs(spec.leaseGracePeriod),
        now,
        next,
      ),
    ];
    const nsFilter = data.namespaces ? new Set(data.namespaces.objects.map((n) => n.metadata.name)) : undefined;
    const inScope = (o: KubeObject) => !nsFilter || nsFilter.has(o.metadata.namespace ?? '');

    // ClusterQueues, and first what can stop a whole queue: the admission checks it requires.
    const cqs = data.clusterQueues?.objects ?? [];
    findings.push(
      ...admissionCheckFindings(data.admissionChecks?.objects ?? [], data.multiKueueClusters?.objects ?? [], cqs, apiVersion, now, next),
    );
    const inactive: string[] = [];
    let pendingTotal = 0;
    const m = scrapes.metrics;
    const km = m?.history.length ? kueueMetrics(m, durationMs(spec.evictionWindow)) : undefined;
    for (const cq of cqs) {
      const object = ref(cq, 'ClusterQueue', apiVersion);
      const active = conditionOf(cq, 'Active');
      if (active?.status !== 'True') {
        // A ClusterQueue created moments ago may not be Active yet for reasons that pass by themselves: Kueue has not
        // reconciled it (no condition), or its ResourceFlavors come right after it (FlavorNotFound) — as when Kaiwo
        // recreates its queues or a GitOps tool applies them in any order. Only those reasons: a stop (stopPolicy) or an
        // inactive admission check is meant or lasts.
        const passing = !active || active.reason === 'FlavorNotFound';
        const isYoung = passing && young(cq, now, next);
        const why = `(${active?.reason ?? 'no Active condition: Kueue has not reconciled it'})${active?.message ? `: ${active.message}` : ''}`;
        if (isYoung) {
          findings.push({
            severity: 'Warning',
            reason: 'ClusterQueueNotReady',
            object,
            message: `new ClusterQueue ${cq.metadata.name} is not Active yet ${why}; Critical if it stays so ${NEW_QUEUE_GRACE_MS / 1000}s`,
          });
        } else {
          inactive.push(cq.metadata.name);
          findings.push({
            severity: 'Critical',
            reason: 'ClusterQueueInactive',
            object,
            message: `ClusterQueue ${cq.metadata.name} is inactive ${why}`,
          });
        }
      }
      const st = (cq.status ?? {}) as CQStatus;
      pendingTotal += st.pendingWorkloads ?? 0;
      if ((st.pendingWorkloads ?? 0) > spec.maxPendingWorkloads) {
        findings.push({
          severity: 'Warning',
          reason: 'PendingBacklog',
          object,
          message: `ClusterQueue ${cq.metadata.name} has ${st.pendingWorkloads ?? 0} pending workloads (threshold ${spec.maxPendingWorkloads})${queueMetricsNote(km?.queues.get(cq.metadata.name))}`,
        });
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
            findings.push({
              severity: 'Warning',
              reason: 'QuotaNearlyExhausted',
              object,
              message: `ClusterQueue ${cq.metadata.name} uses ${((100 * used) / quota).toFixed(0)}% of its nominal ${r.name} quota in flavor ${f.name}`,
            });
          }
        }
      }
    }

    // LocalQueues
    for (const lq of (data.localQueues?.objects ?? []).filter(inScope)) {
      const active = conditionOf(lq, 'Active');
      if (active && active.status !== 'True') {
        findings.push({
          severity: 'Warning',
          reason: 'LocalQueueInactive',
          object: ref(lq, 'LocalQueue', apiVersion),
          message: `LocalQueue ${lq.metadata.namespace ?? ''}/${lq.metadata.name} is inactive (${active.reason ?? ''}): workloads submitted to it wait`,
        });
      }
    }

    // Workloads: one pass per change of the Workloads (memoised), then the time-based rules at `now`.
    const fold = memoFold(
      foldWorkloads,
      data.workloads?.objects ?? [],
      data.localQueues?.objects ?? [],
      data.namespaces?.objects,
      cqs,
      apiVersion,
    );
    findings.push(...fold.rejected, ...lifecycleFindings(fold, spec.maxAdmissionCheckWait, apiVersion, now, next));
    const maxAge = durationMs(spec.maxPendingAge);
    const fromConditions = evictionsByReason(fold, durationMs(spec.evictionWindow), now, next);
    // Kueue's counter also counts the evictions of Workloads admitted again since (their Evicted condition is gone), over
    // the part of the window the scrape history covers: the larger count is the better lower bound.
    const fromCounter = km && km.evictionTotal > fromConditions.total ? km : undefined;
    const evictions = fromCounter ? fromCounter.evictionTotal : fromConditions.total;
    const byReason = fromCounter
      ? `${rankedReasons(fromCounter.evictions)} (Kueue's kueue_evicted_workloads_total over the last ${humanDuration(fromCounter.spanMs)}, Workloads admitted again included)`
      : fromConditions.byReason;
    for (const [cq, { w, sinceMs, since }] of fold.oldest) {
      const age = Number.isFinite(sinceMs) ? now.getTime() - sinceMs : 0;
      if (age >= maxAge) {
        findings.push({
          severity: 'Critical',
          reason: 'WorkloadPendingTooLong',
          object: ref(w, 'Workload', apiVersion),
          since: since ?? now.toISOString(),
          message: `Workload ${w.metadata.namespace ?? ''}/${w.metadata.name} pending in ${cq} since ${since ?? now.toISOString()}, longer than ${spec.maxPendingAge}; check kubectl describe workload and the ClusterQueue's quota`,
        });
      } else {
        next.when(now.getTime() - age, maxAge);
      }
    }
    if (evictions > spec.maxEvictions) {
      findings.push({
        severity: 'Warning',
        reason: 'FrequentEvictions',
        message: `${evictions} Workload${evictions === 1 ? '' : 's'} evicted in the last ${spec.evictionWindow} (threshold ${spec.maxEvictions}): ${byReason}`,
      });
    }
    if (m && m.history.length >= 2) {
      findings.push(...controllerMetricsFindings('Kueue', m, spec.metrics, now, next));
      const capacityMs = historyCapacityMs(spec.metrics, Math.max(60_000, durationMs(spec.metrics.workqueueDepthFor)));
      const inadmissible = windowRate(
        m.history,
        'kueue_admission_attempts_total',
        durationMs(spec.metrics.rateWindow),
        { result: 'inadmissible' },
        capacityMs,
      );
      if (inadmissible && inadmissible.perMinute > spec.metrics.maxInadmissibleAttemptsPerMinute) {
        findings.push({
          severity: 'Warning',
          reason: 'InadmissibleAttempts',
          message: `Kueue finds workloads inadmissible ${inadmissible.perMinute.toFixed(0)} times a minute over ${spec.metrics.rateWindow} (threshold ${spec.metrics.maxInadmissibleAttemptsPerMinute}): quota or flavors do not fit the demand`,
        });
      }
    }
    const activeCount = cqs.length - inactive.length;
    return verdict(
      findings,
      { reason: 'KueueHealthy', message: `${activeCount}/${cqs.length} ClusterQueues active, ${pendingTotal} workloads pending` },
      {
        summary: {
          display: `${activeCount}/${cqs.length} CQ active`,
          counts: {
            clusterQueues: cqs.length,
            inactiveClusterQueues: inactive.length,
            pendingWorkloads: pendingTotal,
            evictions,
            deactivatedWorkloads: [...fold.deactivated.values()].reduce((n, ws) => n + ws.length, 0),
            ...(km
              ? {
                  inadmissibleWorkloads: [...km.queues.values()].reduce((n, q) => n + q.inadmissible, 0),
                  clusterQueuesInactiveByKueue: [...km.queues.values()].filter((q) => q.status !== undefined && q.status !== 'active')
                    .length,
                }
              : {}),
          },
        },
        next,
        scrapes: { Kueue: m },
      },
    );
  },
};
