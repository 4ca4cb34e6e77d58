import { durationMs } from '../api/duration.js';
import { isRecord, type KubeObject } from '../runtime/objects.js';
import { conditionOf, type F, type NextCheck, ref } from './util.js';

/** Names listed in a lifecycle finding; the rest are counted. */
export const MAX_NAMED = 5;

interface WLStatus {
  admission?: { clusterQueue?: string };
  admissionChecks?: { name?: unknown; state?: unknown; message?: unknown; lastTransitionTime?: unknown }[];
  unhealthyNodes?: { name?: string }[];
}

/** A Workload waiting on one admission check (quota reserved, not admitted). */
interface CheckWait {
  w: KubeObject;
  state: string;
  sinceMs: number;
}

/** What the Kueue check needs from the Workloads, independent of the clock (memoised on the informer's array). */
export interface WorkloadFold {
  /** Per ClusterQueue (or namespace/LocalQueue when unmapped): the pending Workload waiting longest; sinceMs NaN sorts last. */
  oldest: Map<string, { w: KubeObject; sinceMs: number; since: string | undefined }>;
  /** Each Workload with Evicted=True: when (epoch ms) and why (the condition's reason). */
  evicted: { at: number; reason: string }[];
  rejected: F[];
  /** Deactivated (spec.active false), unfinished Workloads by cause: RequeuingLimitExceeded, …, or Deactivated (a person or tool). */
  deactivated: Map<string, KubeObject[]>;
  /** Per admission check, the Workloads it holds in Pending or Retry. */
  checkWaits: Map<string, CheckWait[]>;
  /** Unfinished Workloads that topology-aware scheduling found on unhealthy nodes, with those nodes. */
  unhealthy: { w: KubeObject; nodes: string[] }[];
}

/**
 * Why Kueue deactivated a Workload, from its Evicted condition: Kueue (v0.12 to v0.19 at least; seen live on both) writes
 * reason `DeactivatedDueTo<cause>` and the message "The workload is deactivated due to <what>"
 * (pkg/controller/core/workload_controller.go, v0.19's pkg/workload/evict/evict.go); the message is read when the reason
 * is plain `Deactivated`. `Deactivated` alone: someone set spec.active=false.
 */
export function deactivationCause(w: KubeObject): string {
  const ev = conditionOf(w, 'Evicted');
  const reason = typeof ev?.reason === 'string' ? ev.reason : '';
  if (reason.startsWith('DeactivatedDueTo') && reason.length > 16) return reason.slice(16);
  const due = typeof ev?.message === 'string' ? /due to (.*)$/s.exec(ev.message)?.[1] : undefined;
  if (due === undefined) return 'Deactivated';
  if (due.startsWith('exceeding the maximum number of re-queuing retries')) return 'RequeuingLimitExceeded';
  if (due.startsWith('exceeding the maximum execution time')) return 'MaximumExecutionTimeExceeded';
  if (due.startsWith('Admission check(s)')) return 'AdmissionCheck';
  return 'Deactivated';
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const cur = m.get(k);
  if (cur) cur.push(v);
  else m.set(k, [v]);
}

export function foldWorkloads(
  workloads: readonly KubeObject[],
  localQueues: readonly KubeObject[],
  namespaces: readonly KubeObject[] | undefined,
  cqs: readonly KubeObject[],
  apiVersion: string,
): WorkloadFold {
  const nsFilter = namespaces ? new Set(namespaces.map((n) => n.metadata.name)) : undefined;
  const lqToCq = new Map<string, string>();
  for (const lq of localQueues)
    if (!nsFilter || nsFilter.has(lq.metadata.namespace ?? ''))
      lqToCq.set(
        `${lq.metadata.namespace ?? ''}/${lq.metadata.name}`,
        (lq.spec as { clusterQueue?: string } | undefined)?.clusterQueue ?? '',
      );
  const selectedCqs = new Set(cqs.map((c) => c.metadata.name));
  const out: WorkloadFold = { oldest: new Map(), evicted: [], rejected: [], deactivated: new Map(), checkWaits: new Map(), unhealthy: [] };
  for (const w of workloads) {
    if (nsFilter && !nsFilter.has(w.metadata.namespace ?? '')) continue;
    const st = (w.status ?? {}) as WLStatus;
    const finished = conditionOf(w, 'Finished')?.status === 'True';
    const reserved = conditionOf(w, 'QuotaReserved');
    const queue = `${w.metadata.namespace ?? ''}/${(w.spec as { queueName?: string } | undefined)?.queueName ?? ''}`;
    const cq = st.admission?.clusterQueue ?? lqToCq.get(queue) ?? '';
    if (cqs.length && cq && !selectedCqs.has(cq)) continue;
    const evicted = conditionOf(w, 'Evicted');
    const evictedAt = evicted?.status === 'True' && evicted.lastTransitionTime ? Date.parse(evicted.lastTransitionTime) : NaN;
    if (Number.isFinite(evictedAt)) out.evicted.push({ at: evictedAt, reason: typeof evicted?.reason === 'string' ? evicted.reason : '' });
    const admitted = conditionOf(w, 'Admitted')?.status === 'True';
    for (const ac of Array.isArray(st.admissionChecks) ? st.admissionChecks : []) {
      if (!isRecord(ac)) continue;
      const name = typeof ac.name === 'string' ? ac.name : '';
      if (ac.state === 'Rejected')
        out.rejected.push({
          severity: 'Warning',
          reason: 'AdmissionCheckRejected',
          object: ref(w, 'Workload', apiVersion),
          message: `admission check ${name} rejected Workload ${w.metadata.namespace ?? ''}/${w.metadata.name}${typeof ac.message === 'string' && ac.message ? `: ${ac.message}` : ''}`,
        });
      else if ((ac.state === 'Pending' || ac.state === 'Retry') && reserved?.status === 'True' && !admitted && !finished) {
        const at = typeof ac.lastTransitionTime === 'string' ? ac.lastTransitionTime : reserved.lastTransitionTime;
        const since = Date.parse(at ?? '');
        if (Number.isFinite(since)) push(out.checkWaits, name, { w, state: ac.state, sinceMs: since });
      }
    }
    const inactiveWl = (w.spec as { active?: boolean } | undefined)?.active === false;
    if (inactiveWl && !finished) push(out.deactivated, deactivationCause(w), w);
    if (!finished && Array.isArray(st.unhealthyNodes) && st.unhealthyNodes.length) {
      const nodes = st.unhealthyNodes.map((n) => (isRecord(n) ? n.name : undefined)).filter((n): n is string => typeof n === 'string');
      if (nodes.length) out.unhealthy.push({ w, nodes });
    }
    if (finished || inactiveWl || reserved?.status === 'True') continue;
    const since = reserved?.lastTransitionTime ?? w.metadata.creationTimestamp;
    const parsed = since ? Date.parse(since) : NaN;
    const sinceMs = Number.isNaN(parsed) ? NaN : parsed;
    const key = cq || queue;
    const cur = out.oldest.get(key);
    if (!cur || (Number.isFinite(sinceMs) && !(sinceMs >= cur.sinceMs)))
      out.oldest.set(key, { w, sinceMs, since: Number.isNaN(parsed) ? undefined : since });
  }
  return out;
}

const nameOf = (w: KubeObject) => `${w.metadata.namespace ?? ''}/${w.metadata.name}`;
/** "a, b, c" and "(+n more)" past MAX_NAMED. */
export function named(items: readonly string[]): string {
  const shown = [...items].sort().slice(0, MAX_NAMED);
  return `${shown.join(', ')}${items.length > MAX_NAMED ? ` (+${items.length - MAX_NAMED} more)` : ''}`;
}

/** Evictions within the window, counted by reason, most frequent first: "Preempted 4, PodsReadyTimeout 2" (at most MAX_NAMED reasons). */
export function evictionsByReason(fold: WorkloadFold, windowMs: number, now: Date, next: NextCheck): { total: number; byReason: string } {
  const counts = new Map<string, number>();
  let total = 0;
  for (const { at, reason } of fold.evicted) {
    if (now.getTime() - at >= windowMs) continue;
    total++;
    counts.set(reason || 'no reason', (counts.get(reason || 'no reason') ?? 0) + 1);
    next.when(at, windowMs);
  }
  return { total, byReason: rankedReasons(counts) };
}

/** "Preempted 3, PodsReadyTimeout 1": the reasons with the most evictions first, at most MAX_NAMED named. */
export function rankedReasons(counts: ReadonlyMap<string, number>): string {
  const ranked = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return (
    ranked
      .slice(0, MAX_NAMED)
      .map(([r, n]) => `${r.slice(0, 128)} ${n}`)
      .join(', ') + (ranked.length > MAX_NAMED ? ` (+${ranked.length - MAX_NAMED} more reasons)` : '')
  );
}

/** What each deactivation cause means for the user, and how severe it is. Plain `Deactivated` (a person's choice) is not a finding. */
const DEACTIVATIONS: Record<string, { severity: F['severity']; what: string }> = {
  RequeuingLimitExceeded: {
    severity: 'Warning',
    what: 'exceeded the re-queuing limit (their pods did not become ready within waitForPodsReady.timeout, requeuingStrategy.backoffLimitCount times)',
  },
  MaximumExecutionTimeExceeded: { severity: 'Info', what: 'ran past their spec.maximumExecutionTimeSeconds' },
  AdmissionCheck: { severity: 'Warning', what: 'were rejected by an admission check' },
};

/**
 * The Workload lifecycle rules at `now`: Workloads Kueue deactivated (by cause), Workloads an admission check holds in
 * Pending/Retry past `maxAdmissionCheckWait` (one finding per check), and Workloads on nodes topology-aware scheduling
 * marked unhealthy. Each finding names at most MAX_NAMED Workloads and counts the rest.
 */
export function lifecycleFindings(fold: WorkloadFold, maxAdmissionCheckWait: string, apiVersion: string, now: Date, next: NextCheck): F[] {
  const out: F[] = [];
  for (const [cause, ws] of [...fold.deactivated].sort((a, b) => a[0].localeCompare(b[0]))) {
    const d = DEACTIVATIONS[cause];
    if (!d) continue;
    out.push({
      severity: d.severity,
      reason: cause === 'AdmissionCheck' ? 'DeactivatedByAdmissionCheck' : cause,
      ...(ws.length === 1 && ws[0] ? { object: ref(ws[0], 'Workload', apiVersion) } : {}),
      message: `${ws.length} Workload${ws.length > 1 ? 's' : ''} deactivated by Kueue: ${d.what}: ${named(ws.map(nameOf))}; they stay inactive until spec.active is set to true`,
    });
  }
  const bound = durationMs(maxAdmissionCheckWait);
  for (const [check, waits] of [...fold.checkWaits].sort((a, b) => a[0].localeCompare(b[0]))) {
    const late: CheckWait[] = [];
    for (const x of waits) {
      if (now.getTime() - x.sinceMs >= bound) late.push(x);
      else next.when(x.sinceMs, bound);
    }
    if (!late.length) continue;
    const oldest = late.reduce((a, b) => (b.sinceMs < a.sinceMs ? b : a));
    const retry = late.filter((x) => x.state === 'Retry').length;
    out.push({
      severity: 'Warning',
      reason: 'AdmissionCheckStuck',
      object: { apiVersion, kind: 'AdmissionCheck', name: check },
      since: new Date(oldest.sinceMs).toISOString(),
      message:
        `admission check ${check} holds ${late.length} Workload${late.length > 1 ? 's' : ''} with reserved quota in Pending` +
        `${retry ? ` or Retry (${retry} in Retry)` : ''} longer than ${maxAdmissionCheckWait}: ${named(late.map((x) => nameOf(x.w)))}; ` +
        `oldest since ${new Date(oldest.sinceMs).toISOString()}`,
    });
  }
  if (fold.unhealthy.length) {
    const nodes = [...new Set(fold.unhealthy.flatMap((u) => u.nodes))];
    out.push({
      severity: 'Warning',
      reason: 'WorkloadsOnUnhealthyNodes',
      ...(nodes.length === 1 && nodes[0] ? { object: { kind: 'Node', name: nodes[0] } } : {}),
      message:
        `topology-aware scheduling found ${fold.unhealthy.length} Workload${fold.unhealthy.length > 1 ? 's' : ''} on unhealthy nodes ` +
        `${named(nodes)}: ${named(fold.unhealthy.map((u) => nameOf(u.w)))}; Kueue replaces those nodes in the topology or evicts (NodeFailures)`,
    });
  }
  return out;
}
