import { bool, int, labelSelectorSchema, obj, QUALIFIED_NAME, SUMMARY_TABLE } from '../api/schema.js';
import type { LabelSelector } from '../api/types.js';
import { isRecord, type KubeObject } from '../runtime/objects.js';
import { matchesSelector, selectorString } from '../runtime/selector.js';
import { cachedNodeInfo, countedNote, type Flavor, flavorOf, lostNodes, type Supply, supplyOf, taintCell, tolerator } from './capacity-supply.js';
import { runState, type RunState, type WorkloadFacts, workloadFacts, workloadTolerations } from './capacity-workloads.js';
import { slimNode } from './gpu-nodes.js';
import { KAIWO_CONFIG_NAME, KAIWO_CONFIG_RBAC, kaiwoConfigListing, kaiwoConfigSource, type KaiwoSettings, kaiwoSettings, kaiwoToleration } from './kaiwo-config.js';
import { kaiwoPoolFindings } from './kaiwo-pool.js';
import { KUEUE_GROUP } from './kueue.js';
import { pendingPodsSource, selects, type UnplacedPod, unplacedPod } from './pending-pods.js';
import { type Taint, tolerates } from './scheduling.js';
import { type CheckResult, type ComponentCheck, type SourceSpec, type SourceView, waitingForData } from './types.js';
import { type F, nameList, quantity, ref, verdict } from './util.js';
import { slimWorkload } from './workload-projection.js';

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

const MAX_REASONS = 8;
const EXTENDED = new RegExp(QUALIFIED_NAME);

const objs = (v: unknown): Record<string, unknown>[] => (Array.isArray(v) ? v.filter(isRecord) : []);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
/** A row that promises nothing and has nothing in use or pending (Kaiwo lists every other vendor's GPU at 0 in each flavor). */
const active = (r: CapacityRow) => r.promised > 0 || r.inUse > 0 || r.pending > 0;
/** An optional source whose first list failed (forbidden): not waited for; the check does without it. */
const unreadable = (v: SourceView | undefined): boolean => v?.state === 'pending' && v.error !== undefined;
/** GPUs of `resource` one unplaced pod requests. */
const podGpus = (p: UnplacedPod, resource: string): number => {
  const g = p.requests[resource];
  return typeof g === 'number' && g > 0 ? g : 0;
};

/** The resources compared: the spec's, and the GPU resource KaiwoConfig names (Kaiwo's pods request it). */
export function comparedResources(names: readonly string[], kaiwo: KaiwoSettings): string[] {
  const key = kaiwo.gpuResourceKey;
  return names.includes(key) || !key.includes('/') || key.length > 253 || !EXTENDED.test(key) ? [...names] : [...names, key];
}

function topReasons(row: CapacityRow, max = 2): string {
  const groups = [...row.reasons.entries()].sort((a, b) => b[1].gpus - a[1].gpus || (a[0] < b[0] ? -1 : 1)).slice(0, max);
  return groups.map(([reason, g]) => `${reason} ×${g.workloads}${g.message ? `: ${g.message}` : ''}`).join('; ');
}

function topReason(row: CapacityRow): string {
  let best: [string, number] = ['', -1];
  for (const [reason, g] of row.reasons) if (g.gpus > best[1]) best = [reason, g.gpus];
  return best[0];
}

interface TooLarge { cq: string; resource: string; largest: number; workloads: { w: KubeObject; perPod: number }[] }
/** An admitted Workload's GPUs on a flavor whose GPUs were lost while admitted work exceeds the healthy ones. */
interface OnDegraded { w: KubeObject; f: WorkloadFacts; gpus: number }

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
  description: 'per ClusterQueue × ResourceFlavor × GPU resource: quota promised vs healthy and lost GPUs on the flavor\'s nodes (a taint '
    + 'counts as lost only if neither the flavor, Kaiwo\'s pods nor its Workloads tolerate it), in use, pending demand by Kueue reason; '
    + 'why work is pending (lost hardware, quota, too large for any node, flavor without nodes) or runs on degraded nodes (admitted work '
    + 'with pods the scheduler marks Unschedulable cannot start, or with Kueue\'s PodsReady); '
    + 'GPU nodes Kaiwo does not count (kaiwo/nodepool); reads KaiwoConfig kaiwo',
  storageVersionOf: `clusterqueues.${KUEUE_GROUP}`,
  schema: obj('GPU capacity truth (CapacityHealthy)', {
    enabled: bool('compare Kueue quotas and pending demand with the GPUs the nodes really have', true),
    resourceNames: {
      type: 'array', maxItems: 16, default: ['amd.com/gpu', 'nvidia.com/gpu'],
      items: { type: 'string', maxLength: 253, pattern: QUALIFIED_NAME },
      'x-kubernetes-list-type': 'set',
      description: 'GPU resources compared (ClusterQueue resources and node capacity); KaiwoConfig\'s nodes.defaultGpuResourceKey is compared too',
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
    { apiGroups: [''], resources: ['nodes', 'namespaces', 'pods'], verbs: ['get', 'list', 'watch'] },
    { apiGroups: [KUEUE_GROUP], resources: ['clusterqueues', 'localqueues', 'workloads', 'resourceflavors'], verbs: ['get', 'list', 'watch'] },
    { apiGroups: ['apiextensions.k8s.io'], resources: ['customresourcedefinitions'], resourceNames: [`clusterqueues.${KUEUE_GROUP}`], verbs: ['get'] },
    KAIWO_CONFIG_RBAC,
  ],
  // The same specs as the GPU-node and Kueue checks (same transform), so the informers are shared; KaiwoConfig is optional,
  // and so are the unbound pending pods (phase Pending, no node: few on a healthy cluster), projected to a few fields.
  sources: (s, env) => {
    const v = `${KUEUE_GROUP}/${env.storageVersion ?? 'v1beta2'}`;
    const namespaces = selectorString(s.workloadNamespaceSelector);
    const out: Record<string, SourceSpec> = {
      nodes: { apiVersion: 'v1', plural: 'nodes', kind: 'Node', transform: slimNode },
      clusterQueues: { apiVersion: v, plural: 'clusterqueues', kind: 'ClusterQueue', labelSelector: selectorString(s.clusterQueueSelector) },
      resourceFlavors: { apiVersion: v, plural: 'resourceflavors', kind: 'ResourceFlavor' },
      localQueues: { apiVersion: v, plural: 'localqueues', kind: 'LocalQueue' },
      workloads: { apiVersion: v, plural: 'workloads', kind: 'Workload', transform: slimWorkload },
      kaiwoConfig: kaiwoConfigSource,
      pendingPods: pendingPodsSource,
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
  // KaiwoConfig and the pending pods are optional: wait for their first list like any source, but not when that list
  // fails (KaiwoConfig's defaults then; without pods, Kueue's PodsReady tells running from waiting, where Kueue writes it).
  const { kaiwoConfig, pendingPods, ...required } = data;
  const waiting = waitingForData({
    ...required, ...(kaiwoConfig && kaiwoConfigListing(kaiwoConfig) ? { kaiwoConfig } : {}), ...(pendingPods && !unreadable(pendingPods) ? { pendingPods } : {}),
  });
  if (waiting) return waiting;
  const apiVersion = `${KUEUE_GROUP}/${storageVersion ?? 'v1beta2'}`;
  if (data.clusterQueues?.state === 'absent') {
    return { status: 'Unknown', reason: 'KueueNotInstalled', message: `Kueue's API (${apiVersion}) is not served: Kueue CRDs are not installed`, findings: [] };
  }
  const kaiwo = kaiwoSettings(kaiwoConfig);
  const resources = comparedResources(spec.resourceNames, kaiwo);
  const wanted = new Set(resources);
  const nodes = (data.nodes?.objects ?? []).filter((n) => matchesSelector(spec.nodeSelector, n.metadata.labels)).map((n) => cachedNodeInfo(n, resources));
  const flavors = new Map<string, Flavor>((data.resourceFlavors?.objects ?? []).map((rf) => [rf.metadata.name, flavorOf(rf)]));
  const findings: F[] = [];
  if (kaiwo.unreadable) {
    findings.push({ severity: 'Info', reason: 'KaiwoConfigUnreadable', object: { apiVersion: kaiwoConfigSource.apiVersion, kind: 'KaiwoConfig', name: KAIWO_CONFIG_NAME },
      message: `KaiwoConfig ${KAIWO_CONFIG_NAME} cannot be read (${kaiwo.unreadable}): Kaiwo's defaults are assumed (GPU resource ${kaiwo.gpuResourceKey}, `
        + `no ${kaiwo.gpuTaintKey} taint on GPU nodes); grant get, list and watch on kaiwoconfigs.${KAIWO_CONFIG_RBAC.apiGroups?.[0] ?? ''}` });
  }

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

  const nsFilter = data.namespaces ? new Set(data.namespaces.objects.map((n) => n.metadata.name)) : undefined;
  const lqToCq = new Map<string, string>();
  for (const lq of data.localQueues?.objects ?? []) {
    lqToCq.set(`${lq.metadata.namespace ?? ''}/${lq.metadata.name}`, str((lq.spec as { clusterQueue?: unknown } | undefined)?.clusterQueue));
  }
  const queueOf = (f: WorkloadFacts) => f.admittedTo || (lqToCq.get(f.lqKey) ?? '');

  // The tolerations of the work on each flavor, read only when a node carries a taint Kaiwo's pods may not tolerate
  // (none: no taints, or only Kaiwo's own with addTaintsToGpuNodes).
  const kaiwoTolerations = resources.map((r) => kaiwoToleration(kaiwo, r));
  const tainted = nodes.some((n) => n.taints.some((t) => kaiwoTolerations.some((k) => !k || !tolerates(k, t))));
  const tolerationsOn = tainted
    ? workloadTolerations(data.workloads?.objects ?? [], [...rows.values()], (f) => (nsFilter && !nsFilter.has(f.namespace) ? undefined : queueOf(f)))
    : undefined;

  // Supply per referenced flavor × resource; in use per flavor (all queues share the flavor's nodes); cohort free quota.
  const supply = new Map<string, Supply>();
  for (const name of new Set([...rows.values()].map((r) => r.flavor))) {
    const f = flavors.get(name);
    if (!f) continue;
    const tolerators = new Map<string, (t: Taint) => string | undefined>(resources.map((r) => [r, tolerator(f, r, kaiwo, tolerationsOn?.get(r)?.get(name))]));
    for (const [r, s] of supplyOf(f, nodes, resources, tolerators)) supply.set(`${name}|${r}`, s);
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
  // Flavors whose admitted work exceeds the healthy GPUs while some are lost: what runs there, and what waits.
  const degraded = new Map<string, Map<string, OnDegraded[]>>(); // resource → flavor → admitted Workloads there
  const degradedNs = new Map<string, Set<string>>(); // flavor|resource → namespaces of Workloads admitted (maybe) to it
  for (const [fk, used] of flavorInUse) {
    const s = supply.get(fk);
    if (!s || s.reporting <= 0 || s.lost <= 0 || used <= s.healthy) continue;
    const [flavor = '', resource = ''] = fk.split('|');
    degraded.set(resource, (degraded.get(resource) ?? new Map<string, OnDegraded[]>()).set(flavor, []));
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

  // Workloads, second pass: pod sets larger than any node of their flavors, admitted work on degraded flavors, and
  // pending demand per row (by Kueue's reason).
  const tooLarge = new Map<string, TooLarge>();
  let tracksPodsReady = false; // Kueue writes PodsReady (waitForPodsReady): any active Workload has it
  for (const w of data.workloads?.objects ?? []) {
    const f = workloadFacts(w);
    if (f.skip) continue;
    if (f.podsReady !== undefined) tracksPodsReady = true;
    if (nsFilter && !nsFilter.has(f.namespace)) continue;
    const cq = queueOf(f);
    const byRes = queueRes.get(cq);
    if (!byRes) continue;
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
    if (f.reserved) {
      for (const d of f.demand) {
        const on = degraded.get(d.resource);
        if (!on) continue;
        const rs = byRes.get(d.resource)?.rows;
        const placed = d.assigned.length ? d.assigned : rs?.length === 1 && rs[0] ? [{ flavor: rs[0].flavor, gpus: d.total }] : [];
        for (const a of placed) on.get(a.flavor)?.push({ w, f, gpus: a.gpus });
        // Where its pods may be: the flavors Kueue assigned, else any flavor of its ClusterQueue.
        for (const flavor of d.assigned.length ? d.assigned.map((a) => a.flavor) : (rs ?? []).map((r) => r.flavor)) {
          if (!on.has(flavor)) continue;
          const k = `${flavor}|${d.resource}`;
          degradedNs.set(k, (degradedNs.get(k) ?? new Set<string>()).add(f.namespace));
        }
      }
      continue;
    }
    for (const d of f.demand) {
      const gpus = d.total;
      const candidates = byRes.get(d.resource)?.rows;
      if (!candidates) continue;
      // The flavor Kueue's message names, else the first that can hold any of it: a flavor with no quota for the
      // resource (Kaiwo lists the other vendor's GPU, and GPUs in its cpu-only flavor, at 0) never admits it.
      const row = (f.flavorsNamed.length && candidates.length > 1 ? candidates.find((c) => f.flavorsNamed.includes(c.flavor)) : undefined)
        ?? candidates.find((c) => c.promised > 0) ?? candidates[0];
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

  // Findings per flavor × resource (shared nodes), then per row. Rows that promise nothing and hold and wait for
  // nothing (Kaiwo's 0 quota for the other vendor's GPUs) need no supply and say nothing.
  const flavorDone = new Set<string>();
  const rowsByFlavor = new Map<string, CapacityRow[]>();
  for (const row of rows.values()) {
    const fk = `${row.flavor}|${row.resource}`;
    rowsByFlavor.set(fk, [...(rowsByFlavor.get(fk) ?? []), row]);
  }
  // Admitted work on flavors that lost GPUs: the pods the scheduler could not place (read only then; undefined when
  // the pods cannot be read; their namespaces are matched with the selected Workloads'), and for each flavor ×
  // resource the flavors of the resource whose nodeLabels include its own and more (a pod selecting those was
  // admitted to them, not to it).
  const podsRead = pendingPods?.state === 'synced' || pendingPods?.state === 'failing';
  const unplaced = podsRead ? (degraded.size ? unplacedPods(pendingPods.objects) : []) : undefined;
  const narrowerFlavors = (f: Flavor, resource: string): (readonly [string, string])[][] => {
    const out: (readonly [string, string])[][] = [];
    for (const k of supply.keys()) {
      const [name = '', r = ''] = k.split('|');
      const g = name === f.name || r !== resource ? undefined : flavors.get(name);
      if (g && g.nodeLabels.length > f.nodeLabels.length && selects(Object.fromEntries(g.nodeLabels), f.nodeLabels)) out.push(g.nodeLabels);
    }
    return out;
  };
  let runUnknown = false;
  for (const [fk, all] of rowsByFlavor) {
    const frows = all.filter(active);
    if (!frows.length) continue;
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
    if (stuck <= 0) continue;
    flavorDone.add(fk);
    if (s.lost <= 0) {
      for (const r of frows) if (r.inUse > 0) r.why = 'over quota';
      findings.push({ severity: 'Critical', reason: 'QuotaExceedsHealthyCapacity', object: rfRef,
        message: `ResourceFlavor ${flavor}: ${inUse} ${resource} reserved by admitted Workloads (ClusterQueue ${queues}) but its nodes have only `
          + `${s.healthy} and none lost: quota larger than the hardware, ${stuck} GPUs of admitted work sit with Pending pods${countedNote(s)}` });
      continue;
    }
    const on = degraded.get(resource)?.get(flavor) ?? [];
    const workloads = (xs: readonly OnDegraded[]) => nameList(xs.map((x) => `${x.f.namespace}/${x.w.metadata.name}`), 3);
    const reserved = `ResourceFlavor ${flavor}: ${inUse} ${resource} reserved by admitted Workloads (ClusterQueue ${queues}) but only ${s.healthy} healthy`;
    const degradedWarning = (evidence: string, names: string, note = '') => {
      // The lost GPUs are held by work that started before they were lost.
      for (const r of frows) if (r.inUse > 0) r.why = 'degraded';
      findings.push({ severity: 'Warning', reason: 'RunningOnDegradedCapacity', object: rfRef,
        message: `${reserved}: its admitted Workloads run (${evidence})${names ? `: ${names}` : ''}${note}, while ${s.lost} GPUs are lost on ${lostNodes(s)}; `
          + `nothing waits for them now, but the quota this work frees when it ends admits work that cannot start until the nodes are serviced${countedNote(s)}` });
    };
    if (unplaced) {
      // The scheduler's word: pods of the work admitted here (a namespace with such a Workload, the flavor's nodeLabels in
      // their nodeSelector, not those of a more specific flavor of the resource) that it tried and could not place.
      const namespaces = degradedNs.get(fk);
      const narrower = narrowerFlavors(f, resource);
      const blocked = namespaces ? unplaced.filter((p) => namespaces.has(p.namespace) && podGpus(p, resource) > 0 && selects(p.nodeSelector, f.nodeLabels)
        && !narrower.some((labels) => selects(p.nodeSelector, labels))) : [];
      if (!blocked.length) {
        // PodsReady, where Kueue writes it, says they run; not True yet (pods starting, pulling images) is no wait for GPUs.
        const notReady = tracksPodsReady ? on.filter((x) => x.f.podsReady !== 'True') : [];
        const evidence = tracksPodsReady && on.length && !notReady.length ? 'PodsReady' : 'none has a pod the scheduler cannot place';
        degradedWarning(evidence, workloads(on), notReady.length ? ` (PodsReady not True yet: ${workloads(notReady)})` : '');
        continue;
      }
      for (const r of frows) if (r.inUse > 0) r.why = 'lost GPUs';
      const keyed = blocked.map((p) => ({ p, key: `${p.namespace}/${p.name}` })).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      const gpus = keyed.reduce((a, x) => a + podGpus(x.p, resource), 0);
      const first = keyed[0];
      const said = first?.p.message ? `; the scheduler on ${first.key}: "${first.p.message}"` : '';
      findings.push({ severity: 'Critical', reason: 'PendingOnLostCapacity', object: rfRef,
        message: `${reserved}; ${Math.min(stuck, gpus)} wait for the ${s.lost} GPUs lost on ${lostNodes(s)}: a hardware problem, not quota; `
          + `the scheduler cannot place ${plural(keyed.length, 'pod')} of admitted work (${gpus} ${resource}, Unschedulable): ${nameList(keyed.map((x) => x.key), 3)}${said}`
          + countedNote(s) });
      continue;
    }
    // Without the pods, Kueue's PodsReady (waitForPodsReady only).
    const inState = (state: RunState) => on.filter((x) => runState(x.f, tracksPodsReady) === state);
    const sum = (state: RunState) => inState(state).reduce((a, x) => a + x.gpus, 0);
    const [running, waiting, unknown] = [sum('running'), sum('waiting'), sum('unknown')];
    if (waiting === 0 && unknown === 0 && running >= inUse) {
      degradedWarning('PodsReady', workloads(inState('running')));
      continue;
    }
    for (const r of frows) if (r.inUse > 0) r.why = 'lost GPUs';
    if (unknown > 0) runUnknown = true;
    const notRunning = waiting > 0 ? `; not running (PodsReady not True): ${workloads(inState('waiting'))}` : '';
    findings.push({ severity: 'Critical', reason: 'PendingOnLostCapacity', object: rfRef,
      message: `${reserved}; ${Math.min(stuck, waiting > 0 ? waiting : s.lost)} wait for the ${s.lost} GPUs lost on ${lostNodes(s)}: a hardware problem, not quota`
        + `${notRunning}${countedNote(s)}` });
  }
  if (runUnknown) {
    findings.push({ severity: 'Info', reason: 'PendingPodsUnreadable',
      message: `pending Pods cannot be read (${pendingPods?.error?.slice(0, 200) ?? 'not listed'}) and Kueue writes no PodsReady condition on Workloads `
        + '(waitForPodsReady is off: the default before Kueue v0.19), so admitted Workloads on a flavor that lost GPUs cannot be told running from '
        + 'not started and count as waiting (PendingOnLostCapacity); grant list and watch on pods (the monitor\'s ClusterRole does), or turn waitForPodsReady on' });
  }
  for (const row of rows.values()) {
    if (!active(row)) continue;
    const fk = `${row.flavor}|${row.resource}`;
    const s = supply.get(fk);
    if (!s || s.matched === 0 || s.reporting === 0) continue;
    const object = ref(cqObjs.get(row.cq) ?? { metadata: { name: row.cq } }, 'ClusterQueue', apiVersion);
    const where = `ClusterQueue ${row.cq}, flavor ${row.flavor}`;
    const lost = s.lost ? ` (${s.lost} lost on ${lostNodes(s)})` : '';
    if (row.promised > s.healthy && !flavorDone.has(fk)) {
      findings.push({ severity: 'Warning', reason: 'QuotaExceedsHealthyCapacity', object,
        message: `${where}: promises ${row.promised} ${row.resource} (nominal ${row.nominal}${row.borrowingLimit ? ` + borrowing limit ${row.borrowingLimit}` : ''}) `
          + `but the flavor's nodes have ${s.healthy} healthy${lost}: Workloads admitted beyond that sit with Pending pods${countedNote(s)}` });
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
  const pool = spec.kaiwoPool.enabled ? kaiwoPoolFindings(nodes, spec.kaiwoPool.label, kaiwo) : { findings: [], notInPool: 0 };
  findings.push(...pool.findings);
  return summarize(spec, [...rows.values()], supply, findings, pool.notInPool);
}

/** The pods of `objects` the scheduler tried and could not place that request an extended resource. */
function unplacedPods(objects: readonly KubeObject[]): UnplacedPod[] {
  const out: UnplacedPod[] = [];
  for (const o of objects) {
    const p = unplacedPod(o);
    if (p) out.push(p);
  }
  return out;
}

/** A supply the nodes report (not a missing flavor, nor nodes without the extended resource). */
const known = (s: Supply | undefined) => (s && s.reporting > 0 ? s : undefined);

/** Summary counts, the bounded per-queue table, the gauges and the verdict. */
function summarize(spec: CapacitySpec, all: CapacityRow[], supply: Map<string, Supply>, findings: F[], notInPool: number): CheckResult {
  const rows = all.filter(active);
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
    clusterQueues: new Set(all.map((r) => r.cq)).size, rows: rows.length, gpusPromised: sum((r) => r.promised), gpusHealthy: healthy, gpusLost: lost,
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
      const taints = s ? taintCell(s) : '';
      tableRows.push([r.cq, r.flavor, r.resource, String(r.promised), s ? String(s.healthy) : '-', s ? String(s.lost) : '-', String(r.inUse), String(r.pending),
        `${r.why}${reason && reason !== r.why ? ` (${reason})` : ''}${taints ? `; ${taints}` : ''}`]);
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
