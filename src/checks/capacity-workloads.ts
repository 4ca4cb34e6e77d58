import type { KubeObject } from '../runtime/objects.js';
import type { Toleration } from './scheduling.js';
import { conditionOf } from './util.js';
import { assignmentsOfWorkload, podSetsOf } from './workload-projection.js';

/** One extended resource a Workload requests. */
export interface Demand {
  resource: string;
  /** Over all pod sets (per-pod request × count). */
  total: number;
  /** The largest per-pod request. */
  perPod: number;
  /** The toleration lists of the pod sets that request it (shared values of the projection; empty lists left out). */
  tolerations: readonly (readonly Toleration[])[];
  /** Once admitted: its GPUs per flavor Kueue assigned (pod sets without an assignment are left out). */
  assigned: { flavor: string; gpus: number }[];
}

/**
 * What the capacity check reads of a Workload, computed once per cached object: the informer replaces objects on
 * change and never mutates them, so a memo on the object is exact (and keeps an evaluation of 50,000 Workloads cheap).
 */
export interface WorkloadFacts {
  /** Finished, or deactivated (spec.active false). */
  skip: boolean;
  namespace: string;
  /** "namespace/queueName", the LocalQueue key. */
  lqKey: string;
  admittedTo: string;
  reserved: boolean;
  reason: string;
  message: string;
  /** Flavors Kueue's message names ("... in flavor mi300x, 8 more needed"): the pending demand is put on that flavor. */
  flavorsNamed: string[];
  /**
   * Kueue's PodsReady condition: 'True' (Started, Recovered), 'False' (WaitForStart, WaitForRecovery); undefined
   * when Kueue writes none (it does only with waitForPodsReady: off by default before v0.19, on from v0.19).
   */
  podsReady?: string;
  demand: Demand[];
  /** Some pod set requesting an extended resource has tolerations. */
  tolerating: boolean;
}

const FLAVOR_NAMED = /\bflavor "?([a-z0-9]([-a-z0-9.]*[a-z0-9])?)/g;
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** Memo slot on a cached Workload (a symbol: invisible to JSON and Object.keys; faster than a WeakMap at 50k objects). */
const FACTS = Symbol('capacity facts');

export function workloadFacts(w: KubeObject): WorkloadFacts {
  const memo = w as KubeObject & { [FACTS]?: WorkloadFacts };
  const hit = memo[FACTS];
  if (hit) return hit;
  const spec = (w.spec ?? {}) as { active?: unknown; queueName?: unknown };
  const reserved = conditionOf(w, 'QuotaReserved');
  const podsReady = conditionOf(w, 'PodsReady');
  const assigned = new Map(assignmentsOfWorkload(w).map((a) => [a.name, a.flavors]));
  const totals = new Map<string, Demand>();
  for (const ps of podSetsOf(w)) {
    for (const [resource, perPod] of Object.entries(ps.requests)) {
      const d = totals.get(resource) ?? { resource, total: 0, perPod: 0, tolerations: [], assigned: [] };
      d.total += perPod * ps.count;
      d.perPod = Math.max(d.perPod, perPod);
      if (ps.tolerations?.length && !d.tolerations.includes(ps.tolerations)) d.tolerations = [...d.tolerations, ps.tolerations];
      const flavor = assigned.get(ps.name)?.[resource];
      if (flavor !== undefined && perPod * ps.count > 0) {
        const a = d.assigned.find((x) => x.flavor === flavor);
        if (a) a.gpus += perPod * ps.count;
        else d.assigned.push({ flavor, gpus: perPod * ps.count });
      }
      totals.set(resource, d);
    }
  }
  const namespace = w.metadata.namespace ?? '';
  const message = str(reserved?.message).slice(0, 200);
  const ready = str(podsReady?.status);
  const demand = [...totals.values()].filter((d) => d.total > 0);
  const out: WorkloadFacts = {
    skip: conditionOf(w, 'Finished')?.status === 'True' || spec.active === false,
    namespace,
    lqKey: `${namespace}/${str(spec.queueName)}`,
    admittedTo: str((w.status as { admission?: { clusterQueue?: unknown } } | undefined)?.admission?.clusterQueue),
    reserved: reserved?.status === 'True',
    reason: str(reserved?.reason) || 'Pending',
    message,
    flavorsNamed: [...message.matchAll(FLAVOR_NAMED)].map((m) => m[1] ?? ''),
    ...(ready ? { podsReady: ready } : {}),
    demand,
    tolerating: demand.some((d) => d.tolerations.length > 0),
  };
  memo[FACTS] = out;
  return out;
}

/** Which ClusterQueue a Workload's demand counts on, and whether its namespace is selected. */
export interface WorkloadQueues {
  /** The ClusterQueue it is admitted to, else the one its LocalQueue feeds ('' when neither is known). */
  queueOf(f: WorkloadFacts): string;
  /** Its namespace is selected (workloadNamespaceSelector; every namespace when `namespaces` is undefined). */
  selected(f: WorkloadFacts): boolean;
}

/** From the LocalQueues (which ClusterQueue each feeds) and the selected namespaces, if a selector lists them. */
export function workloadQueues(localQueues: readonly KubeObject[], namespaces: readonly KubeObject[] | undefined): WorkloadQueues {
  const names = namespaces ? new Set(namespaces.map((n) => n.metadata.name)) : undefined;
  const lqToCq = new Map<string, string>();
  for (const lq of localQueues)
    lqToCq.set(
      `${lq.metadata.namespace ?? ''}/${lq.metadata.name}`,
      str((lq.spec as { clusterQueue?: unknown } | undefined)?.clusterQueue),
    );
  return {
    queueOf: (f) => f.admittedTo || (lqToCq.get(f.lqKey) ?? ''),
    selected: (f) => !names || names.has(f.namespace),
  };
}

/** What an admitted Workload's pods do on a flavor, from Kueue's PodsReady (unknown when Kueue does not track it). */
export type RunState = 'running' | 'waiting' | 'unknown';

export function runState(f: WorkloadFacts, kueueTracksPodsReady: boolean): RunState {
  if (f.podsReady === 'True') return 'running';
  return f.podsReady === 'False' || kueueTracksPodsReady ? 'waiting' : 'unknown';
}

/** Toleration lists of the work on one flavor for one resource, each with the first Workload (ns/name) that carries it. */
export type TolerationLists = Map<readonly Toleration[], string>;

/** Distinct toleration lists kept per flavor × resource (Workloads share a handful). */
const MAX_TOLERATION_LISTS = 64;

/**
 * resource → flavor → the tolerations of the Workloads admitted to it (the flavors Kueue assigned; without an
 * assignment, every flavor of their ClusterQueue) or pending on its ClusterQueues (every flavor of theirs: Kueue may
 * pick any). `queueOf` gives a Workload's ClusterQueue, undefined to leave it out. Equal lists are one shared value
 * of the projection, so a Workload like the one before costs a comparison.
 */
export function workloadTolerations(
  workloads: readonly KubeObject[],
  rows: readonly { cq: string; flavor: string; resource: string }[],
  queueOf: (f: WorkloadFacts) => string | undefined,
): Map<string, Map<string, TolerationLists>> {
  const out = new Map<string, Map<string, TolerationLists>>();
  const listsOf = (resource: string, flavor: string) => {
    const byFlavor = out.get(resource) ?? new Map<string, TolerationLists>();
    out.set(resource, byFlavor);
    const lists = byFlavor.get(flavor) ?? new Map<readonly Toleration[], string>();
    byFlavor.set(flavor, lists);
    return lists;
  };
  const ofQueue = new Map<string, Map<string, TolerationLists[]>>(); // ClusterQueue → resource → its flavors' lists
  for (const r of rows) {
    const byRes = ofQueue.get(r.cq) ?? new Map<string, TolerationLists[]>();
    ofQueue.set(r.cq, byRes.set(r.resource, [...(byRes.get(r.resource) ?? []), listsOf(r.resource, r.flavor)]));
  }
  let last: { list: readonly Toleration[]; targets: readonly TolerationLists[] } | undefined;
  for (const w of workloads) {
    const f = workloadFacts(w);
    if (f.skip || !f.tolerating) continue;
    const cq = queueOf(f);
    const byRes = cq === undefined ? undefined : ofQueue.get(cq);
    if (!byRes) continue;
    for (const d of f.demand) {
      if (!d.tolerations.length) continue;
      const targets =
        f.reserved && d.assigned.length ? d.assigned.map((a) => listsOf(d.resource, a.flavor)) : (byRes.get(d.resource) ?? []);
      for (const list of d.tolerations) {
        if (last?.list === list && last.targets === targets) continue;
        last = { list, targets };
        for (const lists of targets)
          if (!lists.has(list) && lists.size < MAX_TOLERATION_LISTS) lists.set(list, `${f.namespace}/${w.metadata.name}`);
      }
    }
  }
  return out;
}
