import { bool, dur, int, labelSelectorSchema, obj } from '../api/schema.js';
import type { LabelSelector } from '../api/types.js';
import { durationMs } from '../api/duration.js';
import { isoSeconds, parseTime } from '../api/time.js';
import type { KubeObject } from '../runtime/objects.js';
import { selectorString } from '../runtime/selector.js';
import { type ComponentCheck, waitingForData } from './types.js';
import { ageMs, type F, NextCheck, type ObjCondition, ref, verdict } from './util.js';

export interface WorkloadsSpec {
  enabled: boolean;
  namespaceSelector: LabelSelector;
  failedWindow: string;
  maxPendingDuration: string;
  maxTerminatingDuration: string;
  warningEventWindow: string;
  maxFailedPercent: number;
}

const KAIWO = 'kaiwo.silogen.ai/v1alpha1';

/** What the check reads of a KaiwoJob or KaiwoService: metadata and status (specs embed pod templates; not cached). */
export function slimKaiwoWorkload(w: KubeObject): KubeObject {
  const { spec: _s, ...rest } = w;
  return rest;
}
/** status.status values of current Kaiwo (no READY since v0.1.6); anything else is counted as "other". */
const KNOWN = ['', 'DOWNLOADING', 'PENDING', 'STARTING', 'RUNNING', 'COMPLETE', 'ERROR', 'FAILED', 'TERMINATING', 'TERMINATED'];

interface KaiwoStatus {
  status?: unknown;
  startTime?: unknown;
  duration?: unknown;
  completionTime?: unknown;
  conditions?: unknown;
}

const statusOf = (w: KubeObject) => (w.status ?? {}) as KaiwoStatus;
const timeOf = (v: unknown) => (typeof v === 'string' ? parseTime(v) : undefined);
/** A string field of hostile input, capped; '' when it is not a string. */
const text = (v: unknown, max: number) => (typeof v === 'string' ? v.slice(0, max) : '');

/** Kaiwo's conditions, ignoring malformed entries. */
function conditionsOf(w: KubeObject): ObjCondition[] {
  const c = statusOf(w).conditions;
  return Array.isArray(c)
    ? c.filter((x): x is ObjCondition => typeof x === 'object' && x !== null && typeof (x as ObjCondition).type === 'string')
    : [];
}

/** When the workload entered its current status: the newest condition transition, else creation. */
function statusSince(w: KubeObject): string | undefined {
  const conds = conditionsOf(w)
    .map((c) => c.lastTransitionTime)
    .filter((t): t is string => typeof t === 'string' && parseTime(t) !== undefined)
    .sort();
  return conds.at(-1) ?? w.metadata.creationTimestamp;
}

/**
 * When a FAILED workload failed. Kaiwo changes no condition on RUNNING → FAILED and never writes completionTime, but
 * writes startTime and duration (seconds, recomputed only when it writes a transition) with that transition, so the
 * failure is at startTime + duration. Fallbacks: completionTime (should a later Kaiwo write it); startTime alone
 * when startTime + duration lies in the future (startTime rewritten at the transition); else the newest of
 * startTime, condition transitions and creation (a lower bound). Never later than now.
 */
export function failedAt(w: KubeObject, now: Date): string | undefined {
  const st = statusOf(w);
  const completed = timeOf(st.completionTime);
  const start = timeOf(st.startTime);
  const duration = typeof st.duration === 'number' && Number.isFinite(st.duration) && st.duration >= 0 ? st.duration : undefined;
  let at: number | undefined;
  if (completed !== undefined) at = completed;
  else if (start !== undefined && duration !== undefined)
    at = start + duration * 1000 > now.getTime() + 60_000 ? start : start + duration * 1000;
  else at = Math.max(start ?? -Infinity, timeOf(statusSince(w)) ?? -Infinity);
  return Number.isFinite(at) ? isoSeconds(Math.min(at, now.getTime())) : undefined;
}

/**
 * Kaiwo's "not schedulable" reasons (condition Schedulable=False, which puts a workload in ERROR), each with what it
 * means and what to do (Kaiwo v0.1.9 and v0.2.0-rc12 pkg/workloads/common/scheduling.go, GetSchedulableCondition;
 * GPUs counted by cluster.go fillGpuStats). Kaiwo re-evaluates the condition on every reconcile of the workload.
 */
export const UNSCHEDULABLE_HINTS: Readonly<Record<string, string>> = {
  // TotalClusterGPUs == 0: no node carries a kaiwo/nodepool label of the workload's vendor (e.g. its last one went).
  NoGPUs:
    'Kaiwo counts no GPU of this vendor: it counts GPUs only on nodes labelled kaiwo/nodepool=<vendor>-<model>-<N>gpu-…, ' +
    'and none is left (the last such node was removed, cordoned when Kaiwo labelled, or never labelled)',
  // Requested GPUs (replicas × GPUs per replica) > TotalClusterGPUs: a cluster total, not free GPUs and not per node.
  InsufficientGPUs:
    'the workload requests more GPUs than Kaiwo counts in the whole cluster for its vendor (the N of every ' +
    'kaiwo/nodepool label, free or not); reduce the request or add nodes of that vendor',
  // The workload's ClusterQueue lists namespaces in the KaiwoQueueConfig and its namespace is not one of them.
  WrongQueueNamespace:
    "the workload's namespace is not in the namespaces the KaiwoQueueConfig lists for its ClusterQueue; " +
    'add it to spec.clusterQueues[].namespaces or use another queue',
  // spec.clusterQueue (or Kaiwo's default ClusterQueue name) is not among the KaiwoQueueConfig's spec.clusterQueues.
  ClusterQueueNotFound:
    "the ClusterQueue the workload names (spec.clusterQueue, else Kaiwo's default) is not defined in the " +
    'KaiwoQueueConfig; add it to spec.clusterQueues or fix the name',
};
export const UNSCHEDULABLE_REASONS = Object.keys(UNSCHEDULABLE_HINTS);

/** The finding message for a Schedulable=False condition: Kaiwo's reason and message, and what it means. */
export function unschedulableMessage(id: string, reason: string, message: string): string {
  const hint = Object.hasOwn(UNSCHEDULABLE_HINTS, reason) ? UNSCHEDULABLE_HINTS[reason] : undefined;
  return `${id} is not schedulable (${reason || 'Unschedulable'}): ${message}${hint ? ` — ${hint}` : ''}`;
}

interface CoreEvent extends KubeObject {
  type?: string;
  reason?: string;
  message?: string;
  count?: number;
  involvedObject?: { kind?: string; name?: string; namespace?: string; uid?: string };
  lastTimestamp?: string;
  eventTime?: string;
  series?: { lastObservedTime?: string; count?: number };
}

/** Warning events carry a long message and bulk we do not need. */
function slimEvent(e: KubeObject): KubeObject {
  const ev = e as CoreEvent;
  return {
    metadata: {
      name: e.metadata.name,
      ...(e.metadata.namespace ? { namespace: e.metadata.namespace } : {}),
      ...(e.metadata.resourceVersion ? { resourceVersion: e.metadata.resourceVersion } : {}),
      ...(e.metadata.creationTimestamp ? { creationTimestamp: e.metadata.creationTimestamp } : {}),
    },
    type: ev.type,
    reason: ev.reason,
    message: (ev.message ?? '').slice(0, 300),
    count: ev.count,
    involvedObject: ev.involvedObject,
    lastTimestamp: ev.lastTimestamp,
    eventTime: ev.eventTime,
    series: ev.series,
  };
}

/** KaiwoJobs and KaiwoServices by status.status, and recent Warning Events on them. */
export const workloadsCheck: ComponentCheck<WorkloadsSpec, 'workloads'> = {
  component: 'workloads',
  conditionType: 'WorkloadsHealthy',
  label: 'workloads',
  column: 'Workloads',
  description:
    'KaiwoJobs and KaiwoServices by status (failed, unschedulable, pending or terminating too long) and recent Warning Events on them',
  schema: obj('KaiwoJobs and KaiwoServices (WorkloadsHealthy)', {
    enabled: bool('check Kaiwo workloads', true),
    namespaceSelector: labelSelectorSchema('namespaces to check (default: all)', {}),
    failedWindow: dur(
      'FAILED workloads that failed less than this ago count as failed (ERROR is recoverable: reported while it lasts)',
      '1h',
      '1m',
      '720h',
    ),
    maxPendingDuration: dur('PENDING longer than this is a finding', '30m', '1s', '720h'),
    maxTerminatingDuration: dur('TERMINATING longer than this is stuck', '15m', '1s', '720h'),
    warningEventWindow: dur('Warning Events on Kaiwo objects newer than this are findings', '15m', '1m', '24h'),
    maxFailedPercent: int('failed workloads (percent of those in scope) that make the component unhealthy', 20, 0, 100),
  }),
  selectors: ['namespaceSelector'],
  rbac: [
    { apiGroups: [''], resources: ['namespaces', 'events'], verbs: ['get', 'list', 'watch'] },
    { apiGroups: ['kaiwo.silogen.ai'], resources: ['kaiwojobs', 'kaiwoservices'], verbs: ['get', 'list', 'watch'] },
  ],
  sources: (s) => ({
    kaiwoJobs: { apiVersion: KAIWO, plural: 'kaiwojobs', kind: 'KaiwoJob', transform: slimKaiwoWorkload },
    kaiwoServices: { apiVersion: KAIWO, plural: 'kaiwoservices', kind: 'KaiwoService', transform: slimKaiwoWorkload },
    jobEvents: {
      apiVersion: 'v1',
      plural: 'events',
      kind: 'Event',
      fieldSelector: 'type=Warning,involvedObject.kind=KaiwoJob',
      transform: slimEvent,
    },
    serviceEvents: {
      apiVersion: 'v1',
      plural: 'events',
      kind: 'Event',
      fieldSelector: 'type=Warning,involvedObject.kind=KaiwoService',
      transform: slimEvent,
    },
    ...(selectorString(s.namespaceSelector)
      ? { namespaces: { apiVersion: 'v1', plural: 'namespaces', kind: 'Namespace', labelSelector: selectorString(s.namespaceSelector) } }
      : {}),
  }),
  evaluate: ({ spec, data, now }) => {
    const waiting = waitingForData(data);
    if (waiting) return waiting;
    if (data.kaiwoJobs?.state === 'absent' && data.kaiwoServices?.state === 'absent') {
      return {
        status: 'Unknown',
        reason: 'KaiwoNotInstalled',
        message: 'the Kaiwo CRDs (kaiwojobs, kaiwoservices) are not installed',
        findings: [],
      };
    }
    const nsFilter = data.namespaces ? new Set(data.namespaces.objects.map((n) => n.metadata.name)) : undefined;
    const inScope = (o: { metadata: { namespace?: string } }) => !nsFilter || nsFilter.has(o.metadata.namespace ?? '');
    const next = new NextCheck(now);
    const findings: F[] = [];
    const counts: Record<string, number> = { total: 0, pending: 0, running: 0, failed: 0, unschedulable: 0, other: 0 };
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
      const raw = statusOf(w).status;
      const status = typeof raw === 'string' ? raw : '';
      const since = status === 'FAILED' ? failedAt(w, now) : statusSince(w);
      const age = ageMs(since, now) ?? 0;
      const object = ref(w, kind, KAIWO);
      const id = `${kind} ${w.metadata.namespace ?? ''}/${w.metadata.name}`;
      const describe = `see kubectl describe ${kind.toLowerCase()} -n ${w.metadata.namespace ?? ''} ${w.metadata.name}`;
      if (!KNOWN.includes(status)) counts.other = (counts.other ?? 0) + 1;
      if (status === 'RUNNING') counts.running = (counts.running ?? 0) + 1;
      if (status === 'FAILED') {
        if (age < failedWindow) {
          recentlyFailed++;
          counts.failed = (counts.failed ?? 0) + 1;
          findings.push({
            severity: 'Warning',
            reason: 'WorkloadFailed',
            object,
            ...(since ? { since } : {}),
            message: `${id} is FAILED${since ? ` since ${since}` : ''}; ${describe}`,
          });
          next.when(now.getTime() - age, failedWindow);
        }
      } else if (status === 'ERROR') {
        // Recoverable: Kaiwo retries once the cause is gone (GPUs freed, queue created). Not a failure.
        counts.unschedulable = (counts.unschedulable ?? 0) + 1;
        const c = conditionsOf(w).find((x) => x.type === 'Schedulable' && x.status === 'False');
        const at = c?.lastTransitionTime ?? since;
        findings.push(
          c
            ? {
                severity: 'Warning',
                reason: 'WorkloadUnschedulable',
                object,
                ...(at ? { since: at } : {}),
                message: unschedulableMessage(id, text(c.reason, 128), text(c.message, 512)),
              }
            : {
                severity: 'Warning',
                reason: 'WorkloadError',
                object,
                ...(at ? { since: at } : {}),
                message: `${id} is ERROR (Kaiwo retries it); ${describe}`,
              },
        );
      } else if (status === 'PENDING' || status === '') {
        counts.pending = (counts.pending ?? 0) + 1;
        if (age >= maxPending)
          findings.push({
            severity: 'Warning',
            reason: 'WorkloadPendingTooLong',
            object,
            ...(since ? { since } : {}),
            message: `${id} PENDING since ${since ?? '?'}, longer than ${spec.maxPendingDuration}; check its Kueue Workload and ClusterQueue`,
          });
        else next.when(now.getTime() - age, maxPending);
      } else if (status === 'TERMINATING') {
        if (age >= maxTerminating)
          findings.push({
            severity: 'Warning',
            reason: 'WorkloadStuckTerminating',
            object,
            ...(since ? { since } : {}),
            message: `${id} TERMINATING since ${since ?? '?'}, longer than ${spec.maxTerminatingDuration}`,
          });
        else next.when(now.getTime() - age, maxTerminating);
      }
    }
    const considered = workloads.length;
    const failedPct = considered ? (100 * recentlyFailed) / considered : 0;
    if (recentlyFailed > 0 && failedPct >= spec.maxFailedPercent) {
      findings.push({
        severity: 'Critical',
        reason: 'WorkloadsFailing',
        message: `${recentlyFailed} of ${considered} Kaiwo workloads failed in the last ${spec.failedWindow} (${failedPct.toFixed(0)}%, threshold ${spec.maxFailedPercent}%)`,
      });
    }
    const eventWindow = durationMs(spec.warningEventWindow);
    // Kaiwo's own Warning Events (e.g. WorkloadFailed) repeat what the status findings already say.
    const seen = new Set(findings.map((f) => `${f.object?.kind ?? ''}/${f.object?.namespace ?? ''}/${f.object?.name ?? ''}/${f.reason}`));
    // An Event outlives its object: one about a workload that is gone (deleted, or replaced by another of the same
    // name) says nothing about the cluster now, and would keep a finding after the fix.
    const live = new Set(workloads.map(({ w, kind }) => `${kind}/${w.metadata.namespace ?? ''}/${w.metadata.name}`));
    const uids = new Set(workloads.map(({ w }) => w.metadata.uid).filter((u): u is string => !!u));
    for (const e of [...(data.jobEvents?.objects ?? []), ...(data.serviceEvents?.objects ?? [])] as CoreEvent[]) {
      const io = e.involvedObject ?? {};
      if (nsFilter && !nsFilter.has(io.namespace ?? '')) continue;
      if (!live.has(`${io.kind ?? ''}/${io.namespace ?? ''}/${io.name ?? ''}`) || (io.uid && !uids.has(io.uid))) continue;
      const when = e.series?.lastObservedTime ?? e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp;
      const age = ageMs(when, now);
      if (age === undefined || age >= eventWindow) continue;
      const key = `${io.kind ?? ''}/${io.namespace ?? ''}/${io.name ?? ''}/${e.reason ?? ''}`;
      if (seen.has(key)) continue;
      seen.add(key);
      next.when(now.getTime() - age, eventWindow);
      findings.push({
        severity: 'Warning',
        reason: (e.reason ?? 'WarningEvent').slice(0, 128),
        ...(when ? { since: when } : {}),
        object: { apiVersion: KAIWO, kind: io.kind ?? '', namespace: io.namespace ?? '', name: io.name ?? '' },
        message: `Warning event ${e.reason ?? ''} on ${io.kind ?? ''} ${io.namespace ?? ''}/${io.name ?? ''}: ${e.message ?? ''}`,
      });
    }
    return verdict(
      findings,
      {
        reason: 'WorkloadsHealthy',
        message:
          `${counts.total ?? 0} Kaiwo workloads: ${counts.running ?? 0} running, ${counts.pending ?? 0} pending, ${counts.unschedulable ?? 0} unschedulable, ` +
          `${counts.failed ?? 0} failed recently`,
      },
      {
        summary: { display: `${counts.failed ?? 0} failed / ${counts.total ?? 0}`, counts },
        next,
      },
    );
  },
};
