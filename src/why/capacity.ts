import { applyDefaults } from '../api/defaults.js';
import { capacityCheck, type CapacitySpec } from '../checks/capacity.js';
import { cachedNodeInfo } from '../checks/capacity-supply.js';
import { slimNode } from '../checks/gpu-nodes.js';
import type { SourceView } from '../checks/types.js';
import { quantity } from '../checks/util.js';
import { isRecord, type KubeObject } from '../runtime/objects.js';
import { str } from './link.js';
import type { CapacityView } from './types.js';

const view = (objects: readonly KubeObject[]): SourceView => ({ state: 'synced', objects });
/** Taints on every control-plane node, where no GPU job goes: never the cause. */
const CONTROL_PLANE_TAINT = /^node-role\.kubernetes\.io\/(control-plane|master)$/;

/** The flavors a ClusterQueue's resource groups name. */
export function flavorsOf(cq: KubeObject): string[] {
  const spec = isRecord(cq.spec) ? cq.spec : {};
  const out = new Set<string>();
  for (const g of Array.isArray(spec.resourceGroups) ? spec.resourceGroups.filter(isRecord) : []) {
    for (const f of Array.isArray(g.flavors) ? g.flavors.filter(isRecord) : []) if (str(f.name)) out.add(str(f.name));
  }
  return [...out];
}

/** The label selector (k=v,…) of a ResourceFlavor's nodeLabels; '' when it has none (it matches every node). */
export function flavorSelector(rf: KubeObject): string {
  const labels = isRecord(rf.spec) && isRecord(rf.spec.nodeLabels) ? rf.spec.nodeLabels : {};
  return Object.entries(labels)
    .filter(([, v]) => typeof v === 'string')
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(',');
}

/** The largest allocatable of each resource in `resources` on one node. */
export function largestNode(nodes: readonly KubeObject[], resources: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of nodes) {
    const alloc = isRecord(n.status) && isRecord(n.status.allocatable) ? n.status.allocatable : {};
    for (const r of resources) if (alloc[r] !== undefined) out[r] = Math.max(out[r] ?? 0, quantity(alloc[r]));
  }
  return out;
}

export interface CapacityInput {
  clusterQueue: string;
  clusterQueues: readonly KubeObject[];
  resourceFlavors: readonly KubeObject[];
  localQueues: readonly KubeObject[];
  /** The nodes of the ClusterQueue's flavors. */
  nodes: readonly KubeObject[];
  /** The job's own Workloads: the capacity rows then answer for it. */
  workloads: readonly KubeObject[];
  kaiwoConfig: readonly KubeObject[];
  /** Unbound Pending pods (projected like the capacity check's source): the scheduler's word on admitted work. */
  pendingPods?: readonly KubeObject[];
  /** Kueue's Cohort objects (what a queue can borrow depends on them). */
  cohorts?: readonly KubeObject[];
  /** Kueue's API version read. */
  version: string;
}

/**
 * The capacity check (src/checks/capacity.ts) run on the job's ClusterQueue with the job as its only pending demand:
 * its rows say whether this job would fit with the healthy GPUs, the lost ones, or the quota; only the rows of that
 * queue and the findings that concern it or its flavors are kept.
 */
export function capacityFor(input: CapacityInput, now: Date): CapacityView {
  const spec = applyDefaults<CapacitySpec>(capacityCheck.schema, { tableRows: 20 });
  const result = capacityCheck.evaluate({
    spec,
    now,
    env: { storageVersion: input.version },
    scrapes: {},
    data: {
      nodes: view(input.nodes.map(slimNode)),
      clusterQueues: view(input.clusterQueues),
      resourceFlavors: view(input.resourceFlavors),
      localQueues: view(input.localQueues),
      workloads: view(input.workloads),
      kaiwoConfig: view(input.kaiwoConfig),
      ...(input.pendingPods ? { pendingPods: view(input.pendingPods) } : {}),
      ...(input.cohorts ? { cohorts: view(input.cohorts) } : {}),
    },
  });
  const cq = input.clusterQueues.find((q) => q.metadata.name === input.clusterQueue);
  const flavors = new Set(cq ? flavorsOf(cq) : []);
  const table = result.summary?.table;
  const rows = (table?.rows ?? []).filter((r) => r[0] === input.clusterQueue);
  const findings = result.findings.filter(
    (f) =>
      (f.object?.kind === 'ClusterQueue' && f.object.name === input.clusterQueue) ||
      (f.object?.kind === 'ResourceFlavor' && flavors.has(f.object.name ?? '')) ||
      f.object?.kind === 'Workload',
  );
  return { columns: table?.columns ?? [], rows, findings };
}

/** A node whose GPUs are (partly) gone, as the capacity check reads it: not Ready, or fewer allocatable than installed. */
export function gpusLost(n: KubeObject, resources: readonly string[]): boolean {
  const i = cachedNodeInfo(n, resources);
  return Object.entries(i.cap).some(([r, c]) => i.down?.startsWith('NotReady') === true || (i.alloc[r] ?? 0) < c);
}

/** A node whose GPUs may count as lost for the capacity check: gone (gpusLost), cordoned, or tainted NoSchedule/NoExecute. */
export function maybeLost(n: KubeObject, resources: readonly string[]): boolean {
  const i = cachedNodeInfo(n, resources);
  return gpusLost(n, resources) || i.cordoned || i.taints.length > 0;
}

/** The NoSchedule/NoExecute taints on `nodes` (key=value:effect) the capacity check weighs, without the control plane's. */
export function taintsOf(nodes: readonly KubeObject[], resources: readonly string[]): string[] {
  const out = new Set<string>();
  for (const n of nodes) {
    for (const t of cachedNodeInfo(n, resources).taints) {
      if (!CONTROL_PLANE_TAINT.test(t.key)) out.add(`${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`);
    }
  }
  return [...out].sort().slice(0, 10);
}
