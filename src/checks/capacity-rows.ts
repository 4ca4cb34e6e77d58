import { isRecord, type KubeObject } from '../runtime/objects.js';
import type { CohortTree } from './cohort-tree.js';
import { quantity } from './util.js';

/** Pending demand of one Kueue QuotaReserved=False reason. */
export interface PendingGroup {
  workloads: number;
  gpus: number;
  message: string;
}

/** One ClusterQueue × ResourceFlavor × resource. */
export interface CapacityRow {
  cq: string;
  flavor: string;
  resource: string;
  cohort?: string;
  nominal: number;
  borrowingLimit?: number;
  promised: number;
  inUse: number;
  /** GPUs requested by Kueue-pending Workloads attributed to this flavor (all of them). */
  pending: number;
  pendingWorkloads: number;
  /** The smallest total request of a pending Workload that fits on one node (Infinity: none). */
  minNeed: number;
  /** Pending demand by Kueue's QuotaReserved=False reason. */
  reasons: Map<string, PendingGroup>;
  /** The oldest pending Workload whose demand is on this row. */
  oldest?: OldestPending;
  why: string;
}

/** A pending Workload, for the summary's oldest-per-queue list. */
export interface OldestPending {
  workload: string;
  createdMs: number;
  since?: string;
  reason: string;
  fits: boolean;
}

/** What the ClusterQueues promise. */
export interface QuotaRows {
  /** One row per ClusterQueue × flavor × compared resource, in ClusterQueue and flavor order. */
  rows: CapacityRow[];
  /** "cq|resource" → the ClusterQueue's rows of the resource in its flavor order. */
  byQueue: Map<string, CapacityRow[]>;
  /** The ClusterQueue objects by name. */
  queues: Map<string, KubeObject>;
}

export const objs = (v: unknown): Record<string, unknown>[] => (Array.isArray(v) ? v.filter(isRecord) : []);
export const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** The key of a flavor × resource, shared by rows and supply ("mi300x|amd.com/gpu"). */
export const flavorKey = (flavor: string, resource: string): string => `${flavor}|${resource}`;

/** A row that promises nothing and has nothing in use or pending (Kaiwo lists every other vendor's GPU at 0 in each flavor). */
export const active = (r: CapacityRow): boolean => r.promised > 0 || r.inUse > 0 || r.pending > 0;

/** The rows of the ClusterQueues' quotas for the `wanted` resources, with what each has in use (reserved). */
export function quotaRows(clusterQueues: readonly KubeObject[], wanted: ReadonlySet<string>): QuotaRows {
  const rows = new Map<string, CapacityRow>();
  const byQueue = new Map<string, CapacityRow[]>();
  const queues = new Map<string, KubeObject>();
  for (const cq of clusterQueues) {
    const name = cq.metadata.name;
    queues.set(name, cq);
    const cqSpec = isRecord(cq.spec) ? cq.spec : {};
    const cohort = str(cqSpec.cohortName) || str(cqSpec.cohort) || undefined;
    const usage = reservedOf(cq);
    for (const g of objs(cqSpec.resourceGroups)) {
      for (const f of objs(g.flavors)) {
        for (const q of objs(f.resources)) {
          const resource = str(q.name);
          if (!wanted.has(resource)) continue;
          const flavor = str(f.name);
          const nominal = Math.max(0, quantity(q.nominalQuota));
          const borrowingLimit = q.borrowingLimit === undefined ? undefined : Math.max(0, quantity(q.borrowingLimit));
          const row: CapacityRow = {
            cq: name,
            flavor,
            resource,
            ...(cohort ? { cohort } : {}),
            nominal,
            ...(borrowingLimit !== undefined ? { borrowingLimit } : {}),
            promised: nominal + (borrowingLimit ?? 0),
            inUse: usage.get(flavorKey(flavor, resource)) ?? 0,
            pending: 0,
            pendingWorkloads: 0,
            minNeed: Infinity,
            reasons: new Map(),
            why: '',
          };
          rows.set(`${name}|${flavor}|${resource}`, row);
          const k = `${name}|${resource}`;
          byQueue.set(k, [...(byQueue.get(k) ?? []), row]);
        }
      }
    }
  }
  return { rows: [...rows.values()], byQueue, queues };
}

/** "flavor|resource" → GPUs a ClusterQueue has reserved (status.flavorsReservation, else the older flavorsUsage). */
export function reservedOf(cq: KubeObject): Map<string, number> {
  const st = isRecord(cq.status) ? cq.status : {};
  const usage = new Map<string, number>();
  const reservation = Array.isArray(st.flavorsReservation) ? st.flavorsReservation : st.flavorsUsage;
  for (const f of objs(reservation))
    for (const r of objs(f.resources)) usage.set(flavorKey(str(f.name), str(r.name)), Math.max(0, quantity(r.total)));
  return usage;
}

/** What is in use on each flavor × resource (all queues share the flavor's nodes), and the quota a row has left. */
export interface FlavorUsage {
  inUse: Map<string, number>;
  /** The GPUs a row may still admit by Kueue's arithmetic: its guaranteed quota left and what its cohort tree can give it. */
  quotaFree(row: CapacityRow): number;
  /** The queues' cohort trees (borrowing and lending limits, Cohort quotas, fair sharing), for messages. */
  tree: CohortTree;
}

export function flavorUsage(rows: readonly CapacityRow[], tree: CohortTree): FlavorUsage {
  const inUse = new Map<string, number>();
  for (const row of rows) {
    const fk = flavorKey(row.flavor, row.resource);
    inUse.set(fk, (inUse.get(fk) ?? 0) + row.inUse);
  }
  return { inUse, quotaFree: (row) => tree.available(row.cq, flavorKey(row.flavor, row.resource)), tree };
}

/** The `max` Kueue reasons holding the most pending GPUs: "WaitingForQuota ×2: message; …". */
export function topReasons(row: CapacityRow, max = 2): string {
  const groups = [...row.reasons.entries()].sort((a, b) => b[1].gpus - a[1].gpus || (a[0] < b[0] ? -1 : 1)).slice(0, max);
  return groups.map(([reason, g]) => `${reason} ×${g.workloads}${g.message ? `: ${g.message}` : ''}`).join('; ');
}

/** The Kueue reason holding the most pending GPUs ('' when none pends). */
export function topReason(row: CapacityRow): string {
  let best: [string, number] = ['', -1];
  for (const [reason, g] of row.reasons) if (g.gpus > best[1]) best = [reason, g.gpus];
  return best[0];
}
