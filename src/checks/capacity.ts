import { bool, int, labelSelectorSchema, obj, QUALIFIED_NAME, SUMMARY_TABLE } from '../api/schema.js';
import type { LabelSelector } from '../api/types.js';
import { isRecord, type KubeObject } from '../runtime/objects.js';
import { matchesSelector, selectorString } from '../runtime/selector.js';
import { slimNode } from './gpu-nodes.js';
import { KUEUE_GROUP } from './kueue.js';
import { type CheckResult, type ComponentCheck, type SourceSpec, waitingForData } from './types.js';
import { conditionOf, type F, nameList, quantity, ref, verdict } from './util.js';
import { podSetsOf, slimWorkload } from './workload-projection.js';

export interface CapacitySpec {
  enabled: boolean;
  resourceNames: string[];
  clusterQueueSelector: LabelSelector;
  workloadNamespaceSelector: LabelSelector;
  nodeSelector: LabelSelector;
  tableRows: number;
  kaiwoPool: { enabled: boolean; label: string };
}

/** The kinds of GPU counts per ClusterQueue × flavor × resource (the `kind` label of kaiwo_monitor_capacity_gpus). */
export const CAPACITY_KINDS = ['promised', 'healthy', 'lost', 'in_use', 'pending'] as const;
export const CAPACITY_METRIC = 'kaiwo_monitor_capacity_gpus';

interface Taint { key: string; value: string; effect: string }
interface Toleration { key: string; operator: string; value: string; effect: string }
interface Flavor { name: string; obj: KubeObject; nodeLabels: [string, string][]; nodeTaints: Taint[]; tolerations: Toleration[] }

/** What a node offers, read once per evaluation. */
interface NodeInfo {
  name: string;
  labels: Record<string, string>;
  /** Why it offers nothing now (NotReady, cordoned); undefined when Ready and schedulable. */
  down?: string;
  taints: Taint[];
  cap: Record<string, number>;
  alloc: Record<string, number>;
  /** GPUs installed over all resources, and their names ("amd.com/gpu"). */
  gpus: number;
  resources: string;
}

/** GPUs of one flavor's nodes for one resource. */
interface Supply {
  matched: number;
  reporting: number;
  healthy: number;
  lost: number;
  maxPerNode: number;
  lostOn: { name: string; gpus: number; why: string }[];
}

interface PendingGroup { workloads: number; gpus: number; message: string }

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
  why: string;
}

/** Lifecycle taints that describe a state judged by itself (NotReady, cordoned), not a flavor's toleration. */
const STATE_TAINTS = new Set(['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable', 'node.kubernetes.io/unschedulable']);
const POOL_GPUS = /-(\d+)gpu(?:-|$)/;
const FLAVOR_NAMED = /\bflavor "?([a-z0-9]([-a-z0-9.]*[a-z0-9])?)/g;
const MAX_REASONS = 8;

const objs = (v: unknown): Record<string, unknown>[] => (Array.isArray(v) ? v.filter(isRecord) : []);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

function taintsOf(v: unknown): Taint[] {
  return objs(v).map((t) => ({ key: str(t.key), value: str(t.value), effect: str(t.effect) }));
}

function flavorOf(rf: KubeObject): Flavor {
  const spec = isRecord(rf.spec) ? rf.spec : {};
  const labels = isRecord(spec.nodeLabels) ? Object.entries(spec.nodeLabels).map(([k, v]) => [k, str(v)] as [string, string]) : [];
  const tolerations = objs(spec.tolerations).map((t) => ({ key: str(t.key), operator: str(t.operator) || 'Equal', value: str(t.value), effect: str(t.effect) }));
  return { name: rf.metadata.name, obj: rf, nodeLabels: labels, nodeTaints: taintsOf(spec.nodeTaints), tolerations };
}

/** core/v1 toleration matching (ToleratesTaint). */
function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (!t.key) return t.operator === 'Exists';
  if (t.key !== taint.key) return false;
  return t.operator === 'Exists' || t.value === taint.value;
}

/** A taint a Workload admitted to the flavor tolerates: in its tolerations, or one of its nodeTaints (Kueue requires those be tolerated). */
function flavorTolerates(f: Flavor, taint: Taint): boolean {
  return f.tolerations.some((t) => tolerates(t, taint))
    || f.nodeTaints.some((n) => n.key === taint.key && n.value === taint.value && n.effect === taint.effect);
}

const nodeInfos = new WeakMap<KubeObject, { key: string; info: NodeInfo }>();

/** nodeInfo, once per cached Node object and list of resources. */
function cachedNodeInfo(n: KubeObject, resources: readonly string[]): NodeInfo {
  const key = resources.join(',');
  const hit = nodeInfos.get(n);
  if (hit?.key === key) return hit.info;
  const info = nodeInfo(n, resources);
  nodeInfos.set(n, { key, info });
  return info;
}

function nodeInfo(n: KubeObject, resources: readonly string[]): NodeInfo {
  const st = (isRecord(n.status) ? n.status : {}) as { capacity?: unknown; allocatable?: unknown };
  const spec = (isRecord(n.spec) ? n.spec : {}) as { unschedulable?: unknown; taints?: unknown };
  const capacity = isRecord(st.capacity) ? st.capacity : {};
  const allocatable = isRecord(st.allocatable) ? st.allocatable : {};
  const cap: Record<string, number> = {};
  const alloc: Record<string, number> = {};
  for (const r of resources) {
    const c = Math.max(0, quantity(capacity[r]));
    if (c <= 0) continue;
    cap[r] = c;
    alloc[r] = Math.max(0, Math.min(c, quantity(allocatable[r])));
  }
  const ready = conditionOf(n, 'Ready');
  const down = ready?.status !== 'True' ? `NotReady${ready?.reason ? `/${ready.reason}` : ''}` : spec.unschedulable === true ? 'cordoned' : undefined;
  const taints = taintsOf(spec.taints).filter((t) => (t.effect === 'NoSchedule' || t.effect === 'NoExecute') && !STATE_TAINTS.has(t.key));
  const gpus = Object.values(cap).reduce((a, b) => a + b, 0);
  return { name: n.metadata.name, labels: n.metadata.labels ?? {}, ...(down ? { down } : {}), taints, cap, alloc, gpus, resources: Object.keys(cap).join(', ') };
}

/** The GPUs of the nodes matching one flavor, per resource. */
function supplyOf(f: Flavor, nodes: readonly NodeInfo[], resources: readonly string[]): Map<string, Supply> {
  const out = new Map<string, Supply>(resources.map((r) => [r, { matched: 0, reporting: 0, healthy: 0, lost: 0, maxPerNode: 0, lostOn: [] }]));
  nodes: for (const n of nodes) {
    for (const [k, v] of f.nodeLabels) if (n.labels[k] !== v) continue nodes;
    const blocked = n.down ?? (n.taints.length ? n.taints.find((t) => !flavorTolerates(f, t)) : undefined);
    for (const [r, s] of out) {
      s.matched++;
      const cap = n.cap[r];
      if (cap === undefined) continue;
      const alloc = n.alloc[r] ?? 0;
      s.reporting++;
      s.maxPerNode = Math.max(s.maxPerNode, cap);
      if (blocked) {
        s.lost += cap;
        const why = typeof blocked === 'string' ? blocked : `tainted ${blocked.key}${blocked.value ? `=${blocked.value}` : ''}:${blocked.effect}`;
        s.lostOn.push({ name: n.name, gpus: cap, why });
      } else {
        s.healthy += alloc;
        if (alloc < cap) {
          s.lost += cap - alloc;
          s.lostOn.push({ name: n.name, gpus: cap - alloc, why: `${cap - alloc} of ${cap} unhealthy` });
        }
      }
    }
  }
  return out;
}

/** "mi300x-1 (NotReady), mi300x-2 (2 of 8 unhealthy) and 3 more", biggest losses first. */
function lostNodes(s: Supply, max = 4): string {
  const sorted = [...s.lostOn].sort((a, b) => b.gpus - a.gpus || (a.name < b.name ? -1 : 1));
  const shown = sorted.slice(0, max).map((x) => `${x.name} (${x.why})`).join(', ');
  return sorted.length > max ? `${shown} and ${sorted.length - max} more` : shown;
}

/** Kaiwo's view: GPU nodes outside every `kaiwo/nodepool`, and pool labels whose <N>gpu disagrees with the node. */
function kaiwoPoolFindings(nodes: readonly NodeInfo[], label: string): { findings: F[]; notInPool: number } {
  const gpuNodes = nodes.filter((n) => n.gpus > 0);
  const pooled = gpuNodes.filter((n) => n.labels[label] !== undefined);
  const findings: F[] = [];
  if (!pooled.length) return { findings, notInPool: 0 };
  let notInPool = 0;
  for (const n of gpuNodes) {
    const { gpus, resources } = n;
    const pool = n.labels[label];
    const object = { apiVersion: 'v1', kind: 'Node', name: n.name };
    if (pool === undefined) {
      if (n.down === 'cordoned') continue; // Kaiwo skips cordoned nodes on purpose
      notInPool++;
      findings.push({ severity: 'Warning', reason: 'NodeNotInKaiwoPool', object,
        message: `GPU node ${n.name} (${gpus} ${resources}) has no ${label} label while ${pooled.length} other node(s) do: Kaiwo does not count its GPUs `
          + 'and may mark jobs InsufficientGPUs that Kueue could run (Kaiwo labels nodes when it syncs its KaiwoQueueConfig)' });
      continue;
    }
    const m = POOL_GPUS.exec(pool);
    if (!m?.[1]) continue;
    const claimed = Number(m[1]);
    if (claimed !== gpus) {
      findings.push({ severity: 'Warning', reason: 'KaiwoPoolLabelMismatch', object,
        message: `node ${n.name} is in Kaiwo pool ${pool} (${claimed} GPUs per node) but has ${gpus} ${resources}: Kaiwo counts ${claimed} for it` });
    }
  }
  return { findings, notInPool };
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function topReasons(row: CapacityRow, max = 2): string {
  const groups = [...row.reasons.entries()].sort((a, b) => b[1].gpus - a[1].gpus || (a[0] < b[0] ? -1 : 1)).slice(0, max);
  return groups.map(([reason, g]) => `${reason} ×${g.workloads}${g.message ? `: ${g.message}` : ''}`).join('; ');
}

function topReason(row: CapacityRow): string {
  let best: [string, number] = ['', -1];
  for (const [reason, g] of row.reasons) if (g.gpus > best[1]) best = [reason, g.gpus];
  return best[0];
}

/**
 * What the check reads of a Workload, computed once per cached object: the informer replaces objects on change and
 * never mutates them, so a WeakMap keyed by the object is exact (and keeps an evaluation of 50,000 Workloads cheap).
 */
interface WorkloadFacts {
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
  /** Per extended resource: the total over pod sets and the largest per-pod request. */
  demand: { resource: string; total: number; perPod: number }[];
}

/** Memo slot on a cached Workload (a symbol: invisible to JSON and Object.keys; faster than a WeakMap at 50k objects). */
const FACTS = Symbol('capacity facts');

function workloadFacts(w: KubeObject): WorkloadFacts {
  const memo = w as KubeObject & { [FACTS]?: WorkloadFacts };
  const hit = memo[FACTS];
  if (hit) return hit;
  const spec = (w.spec ?? {}) as { active?: unknown; queueName?: unknown };
  const reserved = conditionOf(w, 'QuotaReserved');
  const totals = new Map<string, WorkloadFacts['demand'][number]>();
  for (const ps of podSetsOf(w)) {
    for (const [resource, perPod] of Object.entries(ps.requests)) {
      const d = totals.get(resource) ?? { resource, total: 0, perPod: 0 };
      d.total += perPod * ps.count;
      d.perPod = Math.max(d.perPod, perPod);
      totals.set(resource, d);
    }
  }
  const namespace = w.metadata.namespace ?? '';
  const message = (reserved?.message ?? '').slice(0, 200);
  const out: WorkloadFacts = {
    skip: conditionOf(w, 'Finished')?.status === 'True' || spec.active === false,
    namespace, lqKey: `${namespace}/${str(spec.queueName)}`,
    admittedTo: str((w.status as { admission?: { clusterQueue?: unknown } } | undefined)?.admission?.clusterQueue),
    reserved: reserved?.status === 'True', reason: reserved?.reason ?? 'Pending', message,
    flavorsNamed: [...message.matchAll(FLAVOR_NAMED)].map((m) => m[1] ?? ''),
    demand: [...totals.values()].filter((d) => d.total > 0),
  };
  memo[FACTS] = out;
  return out;
}

interface TooLarge { cq: string; resource: string; largest: number; workloads: { w: KubeObject; perPod: number }[] }

/**
 * Capacity truth: per ClusterQueue × ResourceFlavor × GPU resource, what the quota promises, what the matching
 * nodes really offer (healthy vs lost), what is in use and what pending Workloads ask for, and why they wait —
 * hardware, quota or a misconfiguration; plus Kaiwo's view of the GPU nodes (kaiwo/nodepool).
 */
export const capacityCheck: ComponentCheck<CapacitySpec, 'capacity'> = {
  component: 'capacity',
  conditionType: 'CapacityHealthy',
  label: 'GPU capacity',
  column: 'Capacity',
  description: 'per ClusterQueue × ResourceFlavor × GPU resource: quota promised vs healthy and lost GPUs on the flavor\'s nodes, in use, '
    + 'pending demand by Kueue reason; why work is pending (lost hardware, quota, too large for any node, flavor without nodes); '
    + 'GPU nodes Kaiwo does not count (kaiwo/nodepool)',
  storageVersionOf: `clusterqueues.${KUEUE_GROUP}`,
  schema: obj('GPU capacity truth (CapacityHealthy)', {
    enabled: bool('compare Kueue quotas and pending demand with the GPUs the nodes really have', true),
    resourceNames: {
      type: 'array', maxItems: 16, default: ['amd.com/gpu', 'nvidia.com/gpu'],
      items: { type: 'string', maxLength: 253, pattern: QUALIFIED_NAME },
      'x-kubernetes-list-type': 'set',
      description: 'GPU resources compared (ClusterQueue resources and node capacity)',
    },
    clusterQueueSelector: labelSelectorSchema('ClusterQueues to compare (default: all)', {}),
    workloadNamespaceSelector: labelSelectorSchema('namespaces whose pending Workloads count as demand (default: all)', {}),
    nodeSelector: labelSelectorSchema('nodes to count (default: all); flavors then match among these', {}),
    tableRows: int(`rows of status.summary.capacity.table (queues with the most pending GPUs first; at most ${SUMMARY_TABLE.rows})`,
      10, 0, SUMMARY_TABLE.rows),
    kaiwoPool: obj("Kaiwo's view: Kaiwo counts GPUs only on nodes labelled kaiwo/nodepool=<vendor>-<model>-<N>gpu… and takes N from the label", {
      enabled: bool('report GPU nodes without the pool label (when other nodes have one) and pool labels whose N disagrees with the node', true),
      label: { type: 'string', default: 'kaiwo/nodepool', maxLength: 317, pattern: QUALIFIED_NAME, description: 'the pool label' },
    }),
  }),
  selectors: ['clusterQueueSelector', 'workloadNamespaceSelector', 'nodeSelector'],
  rbac: [
    { apiGroups: [''], resources: ['nodes', 'namespaces'], verbs: ['get', 'list', 'watch'] },
    { apiGroups: [KUEUE_GROUP], resources: ['clusterqueues', 'localqueues', 'workloads', 'resourceflavors'], verbs: ['get', 'list', 'watch'] },
    { apiGroups: ['apiextensions.k8s.io'], resources: ['customresourcedefinitions'], resourceNames: [`clusterqueues.${KUEUE_GROUP}`], verbs: ['get'] },
  ],
  // The same specs as the GPU-node and Kueue checks (same transform), so the informers are shared.
  sources: (s, env) => {
    const v = `${KUEUE_GROUP}/${env.storageVersion ?? 'v1beta2'}`;
    const namespaces = selectorString(s.workloadNamespaceSelector);
    const out: Record<string, SourceSpec> = {
      nodes: { apiVersion: 'v1', plural: 'nodes', kind: 'Node', transform: slimNode },
      clusterQueues: { apiVersion: v, plural: 'clusterqueues', kind: 'ClusterQueue', labelSelector: selectorString(s.clusterQueueSelector) },
      resourceFlavors: { apiVersion: v, plural: 'resourceflavors', kind: 'ResourceFlavor' },
      localQueues: { apiVersion: v, plural: 'localqueues', kind: 'LocalQueue' },
      workloads: { apiVersion: v, plural: 'workloads', kind: 'Workload', transform: slimWorkload },
    };
    if (namespaces) out.namespaces = { apiVersion: 'v1', plural: 'namespaces', kind: 'Namespace', labelSelector: namespaces };
    return out;
  },
  gauges: { [CAPACITY_METRIC]: { help: 'GPUs per ClusterQueue, ResourceFlavor and resource: promised (nominal + borrowing limit), healthy and lost '
    + 'on the flavor\'s nodes, in use (reserved), pending (requested by pending Workloads)', labelNames: ['cluster_queue', 'flavor', 'resource', 'kind'] } },
  evaluate: ({ spec, data, env }) => evaluateCapacity(spec, data, env.storageVersion),
};

/** The evaluation, separate for the benchmark (hack/bench/capacity.ts). */
export function evaluateCapacity(spec: CapacitySpec, data: Parameters<ComponentCheck<CapacitySpec>['evaluate']>[0]['data'], storageVersion?: string): CheckResult {
  const waiting = waitingForData(data);
  if (waiting) return waiting;
  const apiVersion = `${KUEUE_GROUP}/${storageVersion ?? 'v1beta2'}`;
  if (data.clusterQueues?.state === 'absent') {
    return { status: 'Unknown', reason: 'KueueNotInstalled', message: `Kueue's API (${apiVersion}) is not served: Kueue CRDs are not installed`, findings: [] };
  }
  const resources = spec.resourceNames;
  const wanted = new Set(resources);
  const nodes = (data.nodes?.objects ?? []).filter((n) => matchesSelector(spec.nodeSelector, n.metadata.labels)).map((n) => cachedNodeInfo(n, resources));
  const flavors = new Map((data.resourceFlavors?.objects ?? []).map((rf) => [rf.metadata.name, flavorOf(rf)]));
  const findings: F[] = [];

  // ClusterQueues → rows, in their flavor order per resource.
  const rows = new Map<string, CapacityRow>();
  const order = new Map<string, CapacityRow[]>(); // cq|resource → rows in flavor order
  const cqObjs = new Map<string, KubeObject>();
  for (const cq of data.clusterQueues?.objects ?? []) {
    const name = cq.metadata.name;
    cqObjs.set(name, cq);
    const cqSpec = isRecord(cq.spec) ? cq.spec : {};
    const cohort = str(cqSpec.cohortName) || str(cqSpec.cohort) || undefined;
    const st = isRecord(cq.status) ? cq.status : {};
    const usage = new Map<string, number>();
    const reservation = Array.isArray(st.flavorsReservation) ? st.flavorsReservation : st.flavorsUsage;
    for (const f of objs(reservation)) for (const r of objs(f.resources)) usage.set(`${str(f.name)}|${str(r.name)}`, Math.max(0, quantity(r.total)));
    for (const g of objs(cqSpec.resourceGroups)) {
      for (const f of objs(g.flavors)) {
        for (const q of objs(f.resources)) {
          const resource = str(q.name);
          if (!wanted.has(resource)) continue;
          const flavor = str(f.name);
          const nominal = Math.max(0, quantity(q.nominalQuota));
          const borrowingLimit = q.borrowingLimit === undefined ? undefined : Math.max(0, quantity(q.borrowingLimit));
          const row: CapacityRow = {
            cq: name, flavor, resource, ...(cohort ? { cohort } : {}), nominal, ...(borrowingLimit !== undefined ? { borrowingLimit } : {}),
            promised: nominal + (borrowingLimit ?? 0), inUse: usage.get(`${flavor}|${resource}`) ?? 0,
            pending: 0, pendingWorkloads: 0, minNeed: Infinity, reasons: new Map(), why: '',
          };
          rows.set(`${name}|${flavor}|${resource}`, row);
          const k = `${name}|${resource}`;
          order.set(k, [...(order.get(k) ?? []), row]);
        }
      }
    }
  }

  // Supply per referenced flavor × resource; in use per flavor (all queues share the flavor's nodes); cohort free quota.
  const supply = new Map<string, Supply>();
  for (const name of new Set([...rows.values()].map((r) => r.flavor))) {
    const f = flavors.get(name);
    if (!f) continue;
    for (const [r, s] of supplyOf(f, nodes, resources)) supply.set(`${name}|${r}`, s);
  }
  const flavorInUse = new Map<string, number>();
  const cohortFree = new Map<string, number>();
  for (const row of rows.values()) {
    const fk = `${row.flavor}|${row.resource}`;
    flavorInUse.set(fk, (flavorInUse.get(fk) ?? 0) + row.inUse);
    if (row.cohort) cohortFree.set(`${row.cohort}|${fk}`, (cohortFree.get(`${row.cohort}|${fk}`) ?? 0) + row.nominal - row.inUse);
  }
  const quotaFree = (row: CapacityRow) => {
    const own = row.nominal + (row.borrowingLimit ?? (row.cohort ? Infinity : 0)) - row.inUse;
    const pool = row.cohort ? (cohortFree.get(`${row.cohort}|${row.flavor}|${row.resource}`) ?? 0) : row.nominal - row.inUse;
    return Math.max(0, Math.min(own, pool));
  };

  // Workloads: pending demand per row (by Kueue's reason) and pod sets larger than any node of their flavors.
  const nsFilter = data.namespaces ? new Set(data.namespaces.objects.map((n) => n.metadata.name)) : undefined;
  const lqToCq = new Map<string, string>();
  for (const lq of data.localQueues?.objects ?? []) {
    lqToCq.set(`${lq.metadata.namespace ?? ''}/${lq.metadata.name}`, str((lq.spec as { clusterQueue?: unknown } | undefined)?.clusterQueue));
  }
  // Per ClusterQueue and resource: its rows in flavor order and the largest node of those flavors (nodes reporting it).
  const queueRes = new Map<string, Map<string, { rows: CapacityRow[]; largest: number }>>();
  for (const rs of order.values()) {
    const first = rs[0];
    if (!first) continue;
    let largest = 0;
    for (const row of rs) {
      const sup = supply.get(`${row.flavor}|${row.resource}`);
      if (sup && sup.reporting > 0) largest = Math.max(largest, sup.maxPerNode);
    }
    const byRes = queueRes.get(first.cq) ?? new Map<string, { rows: CapacityRow[]; largest: number }>();
    byRes.set(first.resource, { rows: rs, largest });
    queueRes.set(first.cq, byRes);
  }
  const tooLarge = new Map<string, TooLarge>();
  for (const w of data.workloads?.objects ?? []) {
    const f = workloadFacts(w);
    if (f.skip || (nsFilter && !nsFilter.has(f.namespace))) continue;
    const cq = f.admittedTo || (lqToCq.get(f.lqKey) ?? '');
    const byRes = queueRes.get(cq);
    if (!byRes) continue;
    let fits = true;
    for (const d of f.demand) {
      const q = byRes.get(d.resource);
      if (!q || q.largest === 0 || d.perPod <= q.largest) continue;
      const r = d.resource;
      const perPod = d.perPod;
      fits = false;
      const key = `${cq}|${r}`;
      const t = tooLarge.get(key) ?? { cq, resource: r, largest: q.largest, workloads: [] };
      t.workloads.push({ w, perPod });
      tooLarge.set(key, t);
    }
    if (f.reserved) continue;
    for (const d of f.demand) {
      const gpus = d.total;
      const candidates = byRes.get(d.resource)?.rows;
      if (!candidates) continue;
      const row = (f.flavorsNamed.length && candidates.length > 1 ? candidates.find((c) => f.flavorsNamed.includes(c.flavor)) : undefined) ?? candidates[0];
      if (!row) continue;
      row.pending += gpus;
      row.pendingWorkloads++;
      if (fits) row.minNeed = Math.min(row.minNeed, gpus);
      const key = row.reasons.has(f.reason) || row.reasons.size < MAX_REASONS ? f.reason : 'other';
      const group = row.reasons.get(key) ?? { workloads: 0, gpus: 0, message: key === f.reason ? f.message : '' };
      group.workloads++;
      group.gpus += gpus;
      row.reasons.set(key, group);
    }
  }

  // Findings per flavor × resource (shared nodes), then per row.
  const flavorDone = new Set<string>();
  const rowsByFlavor = new Map<string, CapacityRow[]>();
  for (const row of rows.values()) {
    const fk = `${row.flavor}|${row.resource}`;
    rowsByFlavor.set(fk, [...(rowsByFlavor.get(fk) ?? []), row]);
  }
  for (const [fk, frows] of rowsByFlavor) {
    const [flavor = '', resource = ''] = fk.split('|');
    const f = flavors.get(flavor);
    const s = supply.get(fk);
    const queues = nameList(frows.map((r) => r.cq), 3);
    const inUse = flavorInUse.get(fk) ?? 0;
    const rfRef = { apiVersion, kind: 'ResourceFlavor', name: flavor };
    if (!f || !s) {
      for (const r of frows) r.why = 'flavor missing';
      continue;
    }
    if (s.matched === 0) {
      for (const r of frows) r.why = 'no nodes';
      const promised = frows.reduce((a, r) => a + r.promised, 0);
      if (promised <= 0 && inUse <= 0) continue;
      const labels = f.nodeLabels.map(([k, v]) => `${k}=${v}`).join(',') || 'none';
      findings.push({ severity: inUse > 0 ? 'Critical' : 'Warning', reason: 'FlavorHasNoNodes', object: rfRef,
        message: `ResourceFlavor ${flavor} (nodeLabels ${labels}) matches no node, but ClusterQueue ${queues} promise ${promised} ${resource} on it`
          + (inUse > 0 ? `; ${inUse} reserved by admitted Workloads that cannot start` : ': Workloads admitted to it will never start') });
      continue;
    }
    if (s.reporting === 0) {
      for (const r of frows) r.why = 'not reported';
      findings.push({ severity: 'Info', reason: 'SupplyNotReported', object: rfRef,
        message: `no node of ResourceFlavor ${flavor} reports ${resource} capacity (a DRA driver instead of a device plugin?): its quota is not compared with hardware` });
      continue;
    }
    const stuck = inUse - s.healthy;
    if (stuck > 0) {
      flavorDone.add(fk);
      for (const r of frows) if (r.inUse > 0) r.why = s.lost > 0 ? 'lost GPUs' : 'over quota';
      if (s.lost > 0) {
        findings.push({ severity: 'Critical', reason: 'PendingOnLostCapacity', object: rfRef,
          message: `ResourceFlavor ${flavor}: ${inUse} ${resource} reserved by admitted Workloads (ClusterQueue ${queues}) but only ${s.healthy} healthy; `
            + `${Math.min(stuck, s.lost)} wait for the ${s.lost} GPUs lost on ${lostNodes(s)}: a hardware problem, not quota` });
      } else {
        findings.push({ severity: 'Critical', reason: 'QuotaExceedsHealthyCapacity', object: rfRef,
          message: `ResourceFlavor ${flavor}: ${inUse} ${resource} reserved by admitted Workloads (ClusterQueue ${queues}) but its nodes have only `
            + `${s.healthy} and none lost: quota larger than the hardware, ${stuck} GPUs of admitted work sit with Pending pods` });
      }
    }
  }
  for (const row of rows.values()) {
    const fk = `${row.flavor}|${row.resource}`;
    const s = supply.get(fk);
    if (!s || s.matched === 0 || s.reporting === 0) continue;
    const object = ref(cqObjs.get(row.cq) ?? { metadata: { name: row.cq } }, 'ClusterQueue', apiVersion);
    const where = `ClusterQueue ${row.cq}, flavor ${row.flavor}`;
    const lost = s.lost ? ` (${s.lost} lost on ${lostNodes(s)})` : '';
    if (row.promised > s.healthy && !flavorDone.has(fk)) {
      findings.push({ severity: 'Warning', reason: 'QuotaExceedsHealthyCapacity', object,
        message: `${where}: promises ${row.promised} ${row.resource} (nominal ${row.nominal}${row.borrowingLimit ? ` + borrowing limit ${row.borrowingLimit}` : ''}) `
          + `but the flavor's nodes have ${s.healthy} healthy${lost}: Workloads admitted beyond that sit with Pending pods` });
      row.why ||= 'over-promised';
    }
    if (row.pending <= 0) {
      row.why ||= 'ok';
      continue;
    }
    const kueue = topReasons(row);
    const need = row.minNeed;
    const physFree = s.healthy - (flavorInUse.get(fk) ?? 0);
    const demand = `${plural(row.pendingWorkloads, 'pending Workload')} need ${row.pending} ${row.resource}${Number.isFinite(need) && row.pendingWorkloads > 1 ? ` (smallest ${need})` : ''}`;
    if (!Number.isFinite(need)) {
      row.why = 'too large';
    } else if (physFree >= need) {
      const free = quotaFree(row);
      if (free < need) {
        row.why = 'quota';
        findings.push({ severity: 'Warning', reason: 'PendingOnQuota', object,
          message: `${where}: ${demand}; ${physFree} healthy GPUs are free but the quota is exhausted (${row.inUse} in use of nominal ${row.nominal}`
            + `${row.borrowingLimit !== undefined ? `, borrowing limit ${row.borrowingLimit}` : ''}${row.cohort ? `, cohort ${row.cohort}` : ''}): a policy limit, not hardware`
            + (kueue ? ` (Kueue: ${kueue})` : '') });
      } else {
        row.why = topReason(row) || 'other';
      }
    } else if (s.lost > 0 && physFree + s.lost >= need) {
      row.why = 'lost GPUs';
      findings.push({ severity: 'Critical', reason: 'PendingOnLostCapacity', object,
        message: `${where}: ${demand}; ${Math.max(0, physFree)} healthy GPUs free (${s.healthy} healthy, ${flavorInUse.get(fk) ?? 0} in use) and `
          + `${s.lost} lost on ${lostNodes(s)}: they would fit if the lost GPUs were healthy — a hardware problem, not quota${kueue ? ` (Kueue: ${kueue})` : ''}` });
    } else {
      row.why ||= 'capacity';
    }
  }
  for (const t of tooLarge.values()) {
    const sorted = t.workloads.sort((a, b) => b.perPod - a.perPod);
    const first = sorted[0];
    if (!first) continue;
    const names = nameList(sorted.map((x) => `${x.w.metadata.namespace ?? ''}/${x.w.metadata.name} (${x.perPod}/pod)`), 3);
    findings.push({ severity: 'Warning', reason: 'WorkloadTooLargeForAnyNode', object: ref(first.w, 'Workload', apiVersion),
      message: `${plural(sorted.length, 'Workload')} in ClusterQueue ${t.cq} ask more ${t.resource} per pod than any node of its flavors has (largest ${t.largest}): `
        + `${names}; they can never start — split them into more pods` });
  }
  const pool = spec.kaiwoPool.enabled ? kaiwoPoolFindings(nodes, spec.kaiwoPool.label) : { findings: [], notInPool: 0 };
  findings.push(...pool.findings);
  return summarize(spec, [...rows.values()], supply, findings, pool.notInPool);
}

/** A supply the nodes report (not a missing flavor, nor nodes without the extended resource). */
const known = (s: Supply | undefined) => (s && s.reporting > 0 ? s : undefined);

/** Summary counts, the bounded per-queue table, the gauges and the verdict. */
function summarize(spec: CapacitySpec, rows: CapacityRow[], supply: Map<string, Supply>, findings: F[], notInPool: number): CheckResult {
  const seen = new Set<string>();
  let healthy = 0;
  let lost = 0;
  for (const r of rows) {
    const k = `${r.flavor}|${r.resource}`;
    const s = supply.get(k);
    if (!s || seen.has(k)) continue;
    seen.add(k);
    healthy += s.healthy;
    lost += s.lost;
  }
  const sum = (f: (r: CapacityRow) => number) => rows.reduce((a, r) => a + f(r), 0);
  const pending = sum((r) => r.pending);
  const counts = {
    clusterQueues: new Set(rows.map((r) => r.cq)).size, rows: rows.length, gpusPromised: sum((r) => r.promised), gpusHealthy: healthy, gpusLost: lost,
    gpusInUse: sum((r) => r.inUse), gpusPending: pending, pendingWorkloads: sum((r) => r.pendingWorkloads), nodesNotInKaiwoPool: notInPool,
  };
  // Queues with the most pending GPUs first; their rows until the table is full.
  const byQueue = new Map<string, CapacityRow[]>();
  for (const r of rows) byQueue.set(r.cq, [...(byQueue.get(r.cq) ?? []), r]);
  const queues = [...byQueue.entries()].map(([cq, rs]) => ({ cq, rs, pending: rs.reduce((a, r) => a + r.pending, 0) }))
    .sort((a, b) => b.pending - a.pending || (a.cq < b.cq ? -1 : 1));
  const tableRows: string[][] = [];
  for (const q of queues) {
    for (const r of q.rs) {
      if (tableRows.length >= spec.tableRows) break;
      const s = known(supply.get(`${r.flavor}|${r.resource}`));
      const reason = r.pending > 0 ? topReason(r) : '';
      tableRows.push([r.cq, r.flavor, r.resource, String(r.promised), s ? String(s.healthy) : '-', s ? String(s.lost) : '-', String(r.inUse), String(r.pending),
        `${r.why}${reason && reason !== r.why ? ` (${reason})` : ''}`]);
    }
  }
  const gauges = rows.flatMap((r) => {
    const s = known(supply.get(`${r.flavor}|${r.resource}`));
    const labels = { cluster_queue: r.cq, flavor: r.flavor, resource: r.resource };
    const values: [string, number | undefined][] = [['promised', r.promised], ['healthy', s?.healthy], ['lost', s?.lost], ['in_use', r.inUse], ['pending', r.pending]];
    return values.filter((v): v is [string, number] => v[1] !== undefined).map(([kind, value]) => ({ labels: { ...labels, kind }, value }));
  });
  const display = `${healthy} healthy, ${lost} lost, ${pending} pending GPUs`;
  const result = verdict(findings, {
    reason: 'CapacityHealthy',
    message: `${counts.clusterQueues} ClusterQueues: ${counts.gpusPromised} GPUs promised, ${healthy} healthy, ${lost} lost, ${counts.gpusInUse} in use, ${pending} pending`,
  }, {
    summary: {
      display, counts,
      ...(tableRows.length ? { table: { columns: ['QUEUE', 'FLAVOR', 'RESOURCE', 'PROMISED', 'HEALTHY', 'LOST', 'IN-USE', 'PENDING', 'WHY'], rows: tableRows } } : {}),
    },
  });
  return { ...result, gauges: { [CAPACITY_METRIC]: gauges } };
}
