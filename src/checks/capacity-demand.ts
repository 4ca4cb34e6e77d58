import type { KubeObject } from '../runtime/objects.js';
import { type CapacityRow, flavorKey } from './capacity-rows.js';
import type { Supply } from './capacity-supply.js';
import { type Demand, type WorkloadFacts, workloadFacts, type WorkloadQueues } from './capacity-workloads.js';

/** A ClusterQueue's rows of one resource in flavor order, and the most GPUs one node of those flavors has (0: none reports it). */
export interface QueueResource {
  rows: CapacityRow[];
  largest: number;
}

/** Workloads of one ClusterQueue that ask more of a resource per pod than any node of its flavors has. */
export interface TooLarge {
  cq: string;
  resource: string;
  largest: number;
  workloads: { w: KubeObject; perPod: number }[];
}

/** An admitted Workload's GPUs on a flavor whose GPUs were lost while admitted work exceeds the healthy ones. */
export interface OnDegraded {
  w: KubeObject;
  f: WorkloadFacts;
  gpus: number;
}

/** resource → flavor → the admitted Workloads there, for the degraded flavors only. */
export type DegradedFlavors = Map<string, Map<string, OnDegraded[]>>;

/** What the pass over the Workloads found besides the pending demand it put on the rows. */
export interface Placed {
  tooLarge: Map<string, TooLarge>;
  /** Kueue writes PodsReady (waitForPodsReady): some active Workload has it. */
  tracksPodsReady: boolean;
  /** "flavor|resource" of a degraded flavor → namespaces of the Workloads admitted (maybe) to it. */
  degradedNamespaces: Map<string, Set<string>>;
}

/** Kueue reasons kept per row; the rest count as 'other'. */
const MAX_REASONS = 8;

/** ClusterQueue → resource → its rows and largest node (of the flavor nodes that report the resource). */
export function queueResources(
  byQueue: ReadonlyMap<string, CapacityRow[]>,
  supply: ReadonlyMap<string, Supply>,
): Map<string, Map<string, QueueResource>> {
  const out = new Map<string, Map<string, QueueResource>>();
  for (const rs of byQueue.values()) {
    const first = rs[0];
    if (!first) continue;
    let largest = 0;
    for (const row of rs) {
      const sup = supply.get(flavorKey(row.flavor, row.resource));
      if (sup && sup.reporting > 0) largest = Math.max(largest, sup.maxPerNode);
    }
    const byRes = out.get(first.cq) ?? new Map<string, QueueResource>();
    byRes.set(first.resource, { rows: rs, largest });
    out.set(first.cq, byRes);
  }
  return out;
}

/** The flavors whose admitted work (`inUse`) exceeds their healthy GPUs while some are lost, each with no Workload yet. */
export function degradedFlavors(inUse: ReadonlyMap<string, number>, supply: ReadonlyMap<string, Supply>): DegradedFlavors {
  const out: DegradedFlavors = new Map();
  for (const [fk, used] of inUse) {
    const s = supply.get(fk);
    if (!s || s.reporting <= 0 || s.lost <= 0 || used <= s.healthy) continue;
    const [flavor = '', resource = ''] = fk.split('|');
    out.set(resource, (out.get(resource) ?? new Map<string, OnDegraded[]>()).set(flavor, []));
  }
  return out;
}

/**
 * One pass over the active Workloads of the selected namespaces: pod sets larger than any node of their flavors,
 * admitted Workloads on `degraded` flavors (added to it), and pending demand added to the rows by Kueue's reason.
 */
export function placeWorkloads(
  workloads: readonly KubeObject[],
  queues: WorkloadQueues,
  byQueue: ReadonlyMap<string, ReadonlyMap<string, QueueResource>>,
  degraded: DegradedFlavors,
): Placed {
  const placed: Placed = { tooLarge: new Map(), tracksPodsReady: false, degradedNamespaces: new Map() };
  for (const w of workloads) {
    const f = workloadFacts(w);
    if (f.skip) continue;
    if (f.podsReady !== undefined) placed.tracksPodsReady = true;
    if (!queues.selected(f)) continue;
    const cq = queues.queueOf(f);
    const byRes = byQueue.get(cq);
    if (!byRes) continue;
    const fits = noteTooLarge(w, f, cq, byRes, placed.tooLarge);
    if (f.reserved) placeAdmitted(w, f, byRes, degraded, placed.degradedNamespaces);
    else for (const d of f.demand) addPending(w, f, d, byRes.get(d.resource)?.rows, fits);
  }
  return placed;
}

/** Records the Workload's pod sets that no node of its flavors can hold; true when there are none. */
function noteTooLarge(
  w: KubeObject,
  f: WorkloadFacts,
  cq: string,
  byRes: ReadonlyMap<string, QueueResource>,
  tooLarge: Map<string, TooLarge>,
): boolean {
  let fits = true;
  for (const d of f.demand) {
    const q = byRes.get(d.resource);
    if (!q || q.largest === 0 || d.perPod <= q.largest) continue;
    fits = false;
    const key = `${cq}|${d.resource}`;
    const t = tooLarge.get(key) ?? { cq, resource: d.resource, largest: q.largest, workloads: [] };
    t.workloads.push({ w, perPod: d.perPod });
    tooLarge.set(key, t);
  }
  return fits;
}

/** An admitted Workload's GPUs on degraded flavors, and its namespace on each degraded flavor its pods may be on. */
function placeAdmitted(
  w: KubeObject,
  f: WorkloadFacts,
  byRes: ReadonlyMap<string, QueueResource>,
  degraded: DegradedFlavors,
  namespaces: Map<string, Set<string>>,
): void {
  for (const d of f.demand) {
    const on = degraded.get(d.resource);
    if (!on) continue;
    const rs = byRes.get(d.resource)?.rows;
    const placed = d.assigned.length ? d.assigned : rs?.length === 1 && rs[0] ? [{ flavor: rs[0].flavor, gpus: d.total }] : [];
    for (const a of placed) on.get(a.flavor)?.push({ w, f, gpus: a.gpus });
    // Where its pods may be: the flavors Kueue assigned, else any flavor of its ClusterQueue.
    for (const flavor of d.assigned.length ? d.assigned.map((a) => a.flavor) : (rs ?? []).map((r) => r.flavor)) {
      if (!on.has(flavor)) continue;
      const k = flavorKey(flavor, d.resource);
      namespaces.set(k, (namespaces.get(k) ?? new Set<string>()).add(f.namespace));
    }
  }
}

/**
 * A pending Workload's demand of one resource, put on the row of the flavor Kueue's message names, else the first
 * that can hold any of it: a flavor with no quota for the resource (Kaiwo lists the other vendor's GPU, and GPUs in
 * its cpu-only flavor, at 0) never admits it.
 */
function addPending(w: KubeObject, f: WorkloadFacts, d: Demand, candidates: readonly CapacityRow[] | undefined, fits: boolean): void {
  if (!candidates) return;
  const row =
    (f.flavorsNamed.length && candidates.length > 1 ? candidates.find((c) => f.flavorsNamed.includes(c.flavor)) : undefined) ??
    candidates.find((c) => c.promised > 0) ??
    candidates[0];
  if (!row) return;
  const gpus = d.total;
  row.pending += gpus;
  row.pendingWorkloads++;
  if (fits) row.minNeed = Math.min(row.minNeed, gpus);
  const key = row.reasons.has(f.reason) || row.reasons.size < MAX_REASONS ? f.reason : 'other';
  const group = row.reasons.get(key) ?? { workloads: 0, gpus: 0, message: key === f.reason ? f.message : '' };
  group.workloads++;
  group.gpus += gpus;
  row.reasons.set(key, group);
  const since = w.metadata.creationTimestamp;
  const createdMs = since ? Date.parse(since) : NaN;
  if (Number.isFinite(createdMs) && (!row.oldest || createdMs < row.oldest.createdMs)) {
    row.oldest = { workload: `${f.namespace}/${w.metadata.name}`, createdMs, ...(since ? { since } : {}), reason: f.reason, fits };
  }
}
