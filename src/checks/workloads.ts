import type { WorkloadsSpec } from '../api/types.js';
import { durationMs } from '../api/duration.js';
import type { KubeObject } from '../runtime/objects.js';
import { selectorString } from '../runtime/selector.js';
import { type ComponentCheck, waitingForData } from './types.js';
import { ageMs, type F, NextCheck, ref, verdict } from './util.js';

const KAIWO = 'kaiwo.silogen.ai/v1alpha1';
/** status.status values of current Kaiwo (no READY since v0.1.6); anything else is counted as "other". */
const KNOWN = ['', 'DOWNLOADING', 'PENDING', 'STARTING', 'RUNNING', 'COMPLETE', 'ERROR', 'FAILED', 'TERMINATING', 'TERMINATED'];

/** When the workload entered its current status: the newest condition transition, else creation. */
function statusSince(w: KubeObject): string | undefined {
  const conds = ((w.status as { conditions?: { lastTransitionTime?: string }[] } | undefined)?.conditions ?? [])
    .map((c) => c.lastTransitionTime).filter((t): t is string => typeof t === 'string').sort();
  return conds.at(-1) ?? w.metadata.creationTimestamp;
}

interface CoreEvent extends KubeObject {
  type?: string;
  reason?: string;
  message?: string;
  count?: number;
  involvedObject?: { kind?: string; name?: string; namespace?: string };
  lastTimestamp?: string;
  eventTime?: string;
  series?: { lastObservedTime?: string; count?: number };
}

/** Warning events carry a long message and bulk we do not need. */
function slimEvent(e: KubeObject): KubeObject {
  const ev = e as CoreEvent;
  return {
    metadata: { name: e.metadata.name, ...(e.metadata.namespace ? { namespace: e.metadata.namespace } : {}), ...(e.metadata.resourceVersion ? { resourceVersion: e.metadata.resourceVersion } : {}), ...(e.metadata.creationTimestamp ? { creationTimestamp: e.metadata.creationTimestamp } : {}) },
    type: ev.type, reason: ev.reason, message: (ev.message ?? '').slice(0, 300), count: ev.count, involvedObject: ev.involvedObject,
    lastTimestamp: ev.lastTimestamp, eventTime: ev.eventTime, series: ev.series,
  };
}

/** KaiwoJobs and KaiwoServices by status.status, and recent Warning Events on them. */
export const workloadsCheck: ComponentCheck<WorkloadsSpec> = {
  component: 'workloads',
  section: (s) => s.workloads,
  sources: (s) => ({
    kaiwoJobs: { apiVersion: KAIWO, plural: 'kaiwojobs', kind: 'KaiwoJob' },
    kaiwoServices: { apiVersion: KAIWO, plural: 'kaiwoservices', kind: 'KaiwoService' },
    jobEvents: { apiVersion: 'v1', plural: 'events', kind: 'Event', fieldSelector: 'type=Warning,involvedObject.kind=KaiwoJob', transform: slimEvent },
    serviceEvents: { apiVersion: 'v1', plural: 'events', kind: 'Event', fieldSelector: 'type=Warning,involvedObject.kind=KaiwoService', transform: slimEvent },
    ...(selectorString(s.namespaceSelector) ? { namespaces: { apiVersion: 'v1', plural: 'namespaces', kind: 'Namespace', labelSelector: selectorString(s.namespaceSelector) } } : {}),
  }),
  evaluate: ({ spec, data, now }) => {
    const waiting = waitingForData(data);
    if (waiting) return waiting;
    if (data.kaiwoJobs?.state === 'absent' && data.kaiwoServices?.state === 'absent') {
      return { status: 'Unknown', reason: 'KaiwoNotInstalled', message: 'the Kaiwo CRDs (kaiwojobs, kaiwoservices) are not installed', findings: [] };
    }
    const nsFilter = data.namespaces ? new Set(data.namespaces.objects.map((n) => n.metadata.name)) : undefined;
    const inScope = (o: { metadata: { namespace?: string } }) => !nsFilter || nsFilter.has(o.metadata.namespace ?? '');
    const next = new NextCheck(now);
    const findings: F[] = [];
    const counts: Record<string, number> = { total: 0, pending: 0, running: 0, failed: 0, other: 0 };
    const failedWindow = durationMs(spec.failedWindow);
    const maxPending = durationMs(spec.maxPendingDuration);
    const maxTerminating = durationMs(spec.maxTerminatingDuration);
    const workloads = [
      ...(data.kaiwoJobs?.objects ?? []).map((w) => ({ w, kind: 'KaiwoJob' })),
      ...(data.kaiwoServices?.objects ?? []).map((w) => ({ w, kind: 'KaiwoService' })),
    ].filter(({ w }) => inScope(w));
    let recentlyFailed = 0;
    for (const { w, kind } of workloads) {
      counts.total = (counts.total ?? 0) + 1;
      const raw = (w.status as { status?: unknown } | undefined)?.status;
      const status = typeof raw === 'string' ? raw : '';
      const since = statusSince(w);
      const age = ageMs(since, now) ?? 0;
      const object = ref(w, kind, KAIWO);
      const id = `${kind} ${w.metadata.namespace ?? ''}/${w.metadata.name}`;
      if (!KNOWN.includes(status)) counts.other = (counts.other ?? 0) + 1;
      if (status === 'RUNNING') counts.running = (counts.running ?? 0) + 1;
      if (status === 'FAILED' || status === 'ERROR') {
        if (age < failedWindow) {
          recentlyFailed++;
          counts.failed = (counts.failed ?? 0) + 1;
          findings.push({ severity: 'Warning', reason: status === 'FAILED' ? 'WorkloadFailed' : 'WorkloadError', object, ...(since ? { since } : {}), message: `${id} is ${status}${since ? ` since ${since}` : ''}; see kubectl describe ${kind.toLowerCase()} -n ${w.metadata.namespace ?? ''} ${w.metadata.name}` });
          next.when(now.getTime() - age, failedWindow);
        }
      } else if (status === 'PENDING' || status === '') {
        counts.pending = (counts.pending ?? 0) + 1;
        if (age >= maxPending) findings.push({ severity: 'Warning', reason: 'WorkloadPendingTooLong', object, ...(since ? { since } : {}), message: `${id} PENDING since ${since ?? '?'}, longer than ${spec.maxPendingDuration}; check its Kueue Workload and ClusterQueue` });
        else next.when(now.getTime() - age, maxPending);
      } else if (status === 'TERMINATING') {
        if (age >= maxTerminating) findings.push({ severity: 'Warning', reason: 'WorkloadStuckTerminating', object, ...(since ? { since } : {}), message: `${id} TERMINATING since ${since ?? '?'}, longer than ${spec.maxTerminatingDuration}` });
        else next.when(now.getTime() - age, maxTerminating);
      }
    }
    const considered = workloads.length;
    const failedPct = considered ? (100 * recentlyFailed) / considered : 0;
    if (recentlyFailed > 0 && failedPct >= spec.maxFailedPercent) {
      findings.push({ severity: 'Critical', reason: 'WorkloadsFailing', message: `${recentlyFailed} of ${considered} Kaiwo workloads failed in the last ${spec.failedWindow} (${failedPct.toFixed(0)}%, threshold ${spec.maxFailedPercent}%)` });
    }
    const eventWindow = durationMs(spec.warningEventWindow);
    const seen = new Set<string>();
    for (const e of [...(data.jobEvents?.objects ?? []), ...(data.serviceEvents?.objects ?? [])] as CoreEvent[]) {
      const io = e.involvedObject ?? {};
      if (nsFilter && !nsFilter.has(io.namespace ?? '')) continue;
      const when = e.series?.lastObservedTime ?? e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp;
      const age = ageMs(when, now);
      if (age === undefined || age >= eventWindow) continue;
      const key = `${io.kind ?? ''}/${io.namespace ?? ''}/${io.name ?? ''}/${e.reason ?? ''}`;
      if (seen.has(key)) continue;
      seen.add(key);
      next.when(now.getTime() - age, eventWindow);
      findings.push({
        severity: 'Warning', reason: (e.reason ?? 'WarningEvent').slice(0, 128), ...(when ? { since: when } : {}),
        object: { apiVersion: KAIWO, kind: io.kind ?? '', namespace: io.namespace ?? '', name: io.name ?? '' },
        message: `Warning event ${e.reason ?? ''} on ${io.kind ?? ''} ${io.namespace ?? ''}/${io.name ?? ''}: ${e.message ?? ''}`,
      });
    }
    return verdict(findings, { reason: 'WorkloadsHealthy', message: `${counts.total ?? 0} Kaiwo workloads: ${counts.running ?? 0} running, ${counts.pending ?? 0} pending, ${counts.failed ?? 0} failed recently` }, {
      summary: { display: `${counts.failed ?? 0} failed / ${counts.total ?? 0}`, counts },
      ...(next.date ? { nextCheckAt: next.date } : {}),
    });
  },
};
