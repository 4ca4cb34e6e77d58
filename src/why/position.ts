import { workloadFacts } from '../checks/capacity-workloads.js';
import { conditionOf } from '../checks/util.js';
import { slimWorkload } from '../checks/workload-projection.js';
import { isRecord, type KubeObject } from '../runtime/objects.js';
import type { Position, QueueEntry } from './types.js';

const time = (v: unknown): number => (typeof v === 'string' ? Date.parse(v) : NaN);

/**
 * Kueue's queue-ordering time of a Workload (pkg/workload/workload.go GetQueueOrderTimestamp, default
 * requeuingTimestamp Eviction): the time of its last eviction by PodsReady timeout or by an admission check, else
 * its creation.
 */
export function queueOrderTime(w: KubeObject): number {
  const evicted = conditionOf(w, 'Evicted');
  if (evicted?.status === 'True' && (evicted.reason === 'PodsReadyTimeout' || evicted.reason === 'AdmissionCheck')) {
    const t = time(evicted.lastTransitionTime);
    if (Number.isFinite(t)) return t;
  }
  const created = time(w.metadata.creationTimestamp);
  return Number.isFinite(created) ? created : 0;
}

/**
 * The Workload as the capacity check's projection (slimWorkload): `why` reads Workloads from the API server, the
 * checks' helpers read the projection; a projected one (pod sets with requests, no templates) is returned as is.
 */
export function projected(w: KubeObject): KubeObject {
  const sets = (w.spec as { podSets?: unknown } | undefined)?.podSets;
  return Array.isArray(sets) && sets.some((p) => isRecord(p) && 'template' in p) ? slimWorkload(w) : w;
}

/** A Workload waiting for quota in its queue (not reserved, not finished, active), as a queue entry; else undefined. */
export function pendingEntry(w: KubeObject): QueueEntry | undefined {
  const facts = workloadFacts(projected(w));
  if (facts.skip || facts.reserved) return undefined;
  const p = (w.spec as { priority?: unknown } | undefined)?.priority;
  const gpus: Record<string, number> = {};
  for (const d of facts.demand) gpus[d.resource] = d.total;
  return {
    namespace: facts.namespace,
    name: w.metadata.name,
    priority: typeof p === 'number' && Number.isFinite(p) ? p : 0,
    at: queueOrderTime(w),
    gpus,
  };
}

/** Kueue's order within a ClusterQueue (pkg/queue/cluster_queue.go queueOrderingFunc): priority first, then time. */
export function byQueueOrder(a: QueueEntry, b: QueueEntry): number {
  if (a.priority !== b.priority) return b.priority - a.priority;
  if (a.at !== b.at) return a.at - b.at;
  return a.namespace === b.namespace ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : a.namespace < b.namespace ? -1 : 1;
}

/** The target's place among `entries` (all pending Workloads read for its ClusterQueue), with the GPUs ahead of it. */
export function computedPosition(
  entries: QueueEntry[],
  target: { namespace: string; name: string },
  strategy: string,
  note?: string,
): Position {
  const sorted = [...entries].sort(byQueueOrder);
  const index = sorted.findIndex((e) => e.namespace === target.namespace && e.name === target.name);
  const aheadGpus: Record<string, number> = {};
  for (const e of index < 0 ? [] : sorted.slice(0, index)) {
    for (const [r, n] of Object.entries(e.gpus)) aheadGpus[r] = (aheadGpus[r] ?? 0) + n;
  }
  return { source: 'computed', ...(index >= 0 ? { index } : {}), pending: sorted.length, aheadGpus, strategy, ...(note ? { note } : {}) };
}

/** "1st", "2nd", "3rd", "11th" … for a 0-based index. */
export function ordinal(index: number): string {
  const n = index + 1;
  const teen = n % 100 >= 11 && n % 100 <= 13;
  const suffix = teen ? 'th' : n % 10 === 1 ? 'st' : n % 10 === 2 ? 'nd' : n % 10 === 3 ? 'rd' : 'th';
  return `${n}${suffix}`;
}
