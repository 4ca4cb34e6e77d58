import { isRecord, type KubeObject } from '../runtime/objects.js';
import { flavorKey, objs, reservedOf, str } from './capacity-rows.js';
import { quantity } from './util.js';

/**
 * Kueue's quota arithmetic over ClusterQueues and Cohorts, ported from Kueue's own (pkg/cache/scheduler/resource_node.go
 * in v0.19, pkg/cache/resource_node.go in v0.12: the same rules): what a ClusterQueue can still admit is its guaranteed
 * quota left plus what its Cohort can give it, bounded by its borrowingLimit; a queue's `lendingLimit` keeps the rest
 * of its nominal quota to itself; a Cohort object adds its own quota to what its members share, and Cohorts nest.
 * A cohort named by a queue without a Cohort object is an implicit one: no quota of its own, no parent.
 */
interface Quota {
  nominal: number;
  borrowingLimit?: number;
  lendingLimit?: number;
}

interface Node {
  kind: 'ClusterQueue' | 'Cohort';
  name: string;
  quotas: Map<string, Quota>;
  parent?: Node;
  children: Node[];
  /** Own quota plus what the children make visible to it (past their lending limits). */
  subtree: Map<string, number>;
  /** What counts against `subtree`: a queue's reservation, a Cohort's children's usage past their local quota. */
  usage: Map<string, number>;
  /** Kueue's fair-sharing weighted share (status.fairSharing.weightedShare), where Kueue reports it. */
  weightedShare?: number;
}

/** The deepest Cohort chain followed; Kueue itself refuses cycles (a queue in one is inactive). */
const MAX_DEPTH = 64;

const limit = (v: unknown): number | undefined => (v === undefined || v === null ? undefined : Math.max(0, quantity(v)));
const get = (m: ReadonlyMap<string, number>, k: string): number => m.get(k) ?? 0;

function quotasOf(spec: Record<string, unknown>, wanted: ReadonlySet<string>): Map<string, Quota> {
  const quotas = new Map<string, Quota>();
  for (const g of objs(spec.resourceGroups))
    for (const f of objs(g.flavors))
      for (const r of objs(f.resources)) {
        if (!wanted.has(str(r.name))) continue;
        const borrowingLimit = limit(r.borrowingLimit);
        const lendingLimit = limit(r.lendingLimit);
        quotas.set(flavorKey(str(f.name), str(r.name)), {
          nominal: Math.max(0, quantity(r.nominalQuota)),
          ...(borrowingLimit !== undefined ? { borrowingLimit } : {}),
          ...(lendingLimit !== undefined ? { lendingLimit } : {}),
        });
      }
  return quotas;
}

function shareOf(o: KubeObject): number | undefined {
  const fs = isRecord(o.status) && isRecord(o.status.fairSharing) ? o.status.fairSharing : undefined;
  const n = typeof fs?.weightedShare === 'number' ? fs.weightedShare : Number.NaN;
  return Number.isFinite(n) ? n : undefined;
}

/** Capacity only this node's subtree sees: what its lending limit keeps back from its parent. */
function localQuota(n: Node, fk: string): number {
  const lending = n.quotas.get(fk)?.lendingLimit;
  return lending === undefined ? 0 : Math.max(0, get(n.subtree, fk) - lending);
}

export class CohortTree {
  private readonly queues = new Map<string, Node>();
  private readonly cohorts = new Map<string, Node>();

  /**
   * `clusterQueues`: every ClusterQueue (the tree needs the queues a monitor does not select too); `cohorts`: the
   * Cohort objects (v1alpha1 `spec.parent`, v1beta1/v1beta2 `spec.parentName`); `wanted`: the resources compared.
   */
  constructor(clusterQueues: readonly KubeObject[], cohorts: readonly KubeObject[], wanted: ReadonlySet<string>) {
    const parents = new Map<Node, string>();
    const cohortNode = (name: string): Node => {
      let n = this.cohorts.get(name);
      if (!n) {
        n = { kind: 'Cohort', name, quotas: new Map(), children: [], subtree: new Map(), usage: new Map() };
        this.cohorts.set(name, n);
      }
      return n;
    };
    for (const c of cohorts) {
      const spec = isRecord(c.spec) ? c.spec : {};
      const n = cohortNode(c.metadata.name);
      n.quotas = quotasOf(spec, wanted);
      const share = shareOf(c);
      if (share !== undefined) n.weightedShare = share;
      const parent = str(spec.parentName) || str(spec.parent);
      if (parent && parent !== c.metadata.name) parents.set(n, parent);
    }
    for (const cq of clusterQueues) {
      const spec = isRecord(cq.spec) ? cq.spec : {};
      const usage = reservedOf(cq);
      const quotas = quotasOf(spec, wanted);
      const n: Node = { kind: 'ClusterQueue', name: cq.metadata.name, quotas, children: [], subtree: new Map(), usage };
      for (const [fk, q] of quotas) n.subtree.set(fk, q.nominal);
      const share = shareOf(cq);
      if (share !== undefined) n.weightedShare = share;
      this.queues.set(n.name, n);
      const cohort = str(spec.cohortName) || str(spec.cohort);
      if (cohort) parents.set(n, cohort);
    }
    for (const [n, p] of parents) {
      const parent = cohortNode(p);
      if (n.kind === 'Cohort' && this.reaches(parent, n)) continue; // a cycle: Kueue stops those queues; no parent here
      n.parent = parent;
      parent.children.push(n);
    }
    for (const c of this.cohorts.values()) if (!c.parent) this.accumulate(c, 0);
  }

  /** Whether walking up from `from` meets `to`. */
  private reaches(from: Node, to: Node): boolean {
    let depth = 0;
    for (let n: Node | undefined = from; n && depth < MAX_DEPTH; n = n.parent, depth++) if (n === to) return true;
    return depth >= MAX_DEPTH;
  }

  private accumulate(c: Node, depth: number): void {
    c.subtree = new Map([...c.quotas].map(([fk, q]) => [fk, q.nominal]));
    c.usage = new Map();
    for (const child of c.children) {
      if (child.kind === 'Cohort' && depth < MAX_DEPTH) this.accumulate(child, depth + 1);
      for (const [fk, q] of child.subtree) c.subtree.set(fk, get(c.subtree, fk) + q - localQuota(child, fk));
      for (const [fk, u] of child.usage) c.usage.set(fk, get(c.usage, fk) + Math.max(0, u - localQuota(child, fk)));
    }
  }

  /** How much more of flavor × resource `fk` ClusterQueue `cq` can admit now (Kueue's `available`); 0 if unknown. */
  available(cq: string, fk: string): number {
    const n = this.queues.get(cq);
    return n ? Math.max(0, this.availableOf(n, fk, 0)) : 0;
  }

  private availableOf(n: Node, fk: string, depth: number): number {
    if (!n.parent || depth >= MAX_DEPTH) return get(n.subtree, fk) - get(n.usage, fk);
    let fromParent = this.availableOf(n.parent, fk, depth + 1);
    const borrowing = n.quotas.get(fk)?.borrowingLimit;
    if (borrowing !== undefined) {
      const lq = localQuota(n, fk);
      const storedInParent = get(n.subtree, fk) - lq;
      const usedInParent = Math.max(0, get(n.usage, fk) - lq);
      fromParent = Math.min(storedInParent - usedInParent + borrowing, fromParent);
    }
    return Math.max(0, localQuota(n, fk) - get(n.usage, fk)) + fromParent;
  }

  /** The most of `fk` ClusterQueue `cq` could ever hold with nothing else in use (Kueue's `potentialAvailable`). */
  potential(cq: string, fk: string): number {
    const n = this.queues.get(cq);
    return n ? this.potentialOf(n, fk, 0) : 0;
  }

  private potentialOf(n: Node, fk: string, depth: number): number {
    if (!n.parent || depth >= MAX_DEPTH) return get(n.subtree, fk);
    let most = localQuota(n, fk) + this.potentialOf(n.parent, fk, depth + 1);
    const borrowing = n.quotas.get(fk)?.borrowingLimit;
    if (borrowing !== undefined) most = Math.min(get(n.subtree, fk) + borrowing, most);
    return most;
  }

  /** The queue's cohort chain, nearest first ("research ← org"), for messages; '' without a cohort. */
  cohortPath(cq: string): string {
    const names: string[] = [];
    for (let n = this.queues.get(cq)?.parent; n && names.length < 4; n = n.parent) names.push(n.name);
    return names.join(' ← ');
  }

  /** What the queue lends away at most of `fk` (its lendingLimit), when it sets one. */
  lendingLimit(cq: string, fk: string): number | undefined {
    return this.queues.get(cq)?.quotas.get(fk)?.lendingLimit;
  }

  /** The quota of `fk` the queue's Cohorts hold of their own (Cohort objects' nominal quotas), up the chain. */
  cohortQuota(cq: string, fk: string): number {
    let sum = 0;
    let depth = 0;
    for (let n = this.queues.get(cq)?.parent; n && depth < MAX_DEPTH; n = n.parent, depth++) sum += n.quotas.get(fk)?.nominal ?? 0;
    return sum;
  }

  /** Kueue's fair-sharing weighted share of the queue, where Kueue reports it. */
  weightedShare(cq: string): number | undefined {
    return this.queues.get(cq)?.weightedShare;
  }
}
