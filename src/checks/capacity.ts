import { bool, gpuResourceNames, int, labelSelectorSchema, obj, QUALIFIED_NAME, SUMMARY_TABLE } from '../api/schema.js';
import type { LabelSelector } from '../api/types.js';
import { selectorString } from '../runtime/selector.js';
import { degradedFlavors, placeWorkloads, queueResources } from './capacity-demand.js';
import { kaiwoConfigFindings, rowFindings, tooLargeFindings } from './capacity-findings.js';
import { flavorFindings } from './capacity-flavor-findings.js';
import { flavorUsage, quotaRows } from './capacity-rows.js';
import { CohortTree } from './cohort-tree.js';
import { CAPACITY_METRIC, summarize } from './capacity-summary.js';
import { flavorsByName, flavorSupply, selectedNodes, tolerationsMatter } from './capacity-supply.js';
import { workloadQueues, workloadTolerations } from './capacity-workloads.js';
import type { GPUHardwareSpec } from './gpu-hardware.js';
import { slimNode } from './gpu-nodes.js';
import { gpusByNode, CRITICAL_FAMILIES, readSignals, signalScrapes } from './gpu-signals.js';
import { KAIWO_CONFIG_RBAC, kaiwoConfigSource, type KaiwoSettings, kaiwoSettings } from './kaiwo-config.js';
import { kaiwoPoolFindings } from './kaiwo-pool.js';
import { KUEUE_GROUP } from './kueue.js';
import { pendingPodsSource } from './pending-pods.js';
import { type CheckResult, type ComponentCheck, type ScrapeView, type SourceSpec, type SourceView, waitingForRequired } from './types.js';
import { slimWorkload } from './workload-projection.js';

export { CAPACITY_METRIC } from './capacity-summary.js';
export type { CapacityRow } from './capacity-rows.js';

export interface CapacitySpec {
  enabled: boolean;
  resourceNames: string[];
  clusterQueueSelector: LabelSelector;
  workloadNamespaceSelector: LabelSelector;
  nodeSelector: LabelSelector;
  tableRows: number;
  kaiwoPool: { enabled: boolean; label: string };
}

type CapacityData = Parameters<ComponentCheck<CapacitySpec>['evaluate']>[0]['data'];

const EXTENDED = new RegExp(QUALIFIED_NAME);

/** The resources compared: the spec's, and the GPU resource KaiwoConfig names (Kaiwo's pods request it). */
export function comparedResources(names: readonly string[], kaiwo: KaiwoSettings): string[] {
  const key = kaiwo.gpuResourceKey;
  return names.includes(key) || !key.includes('/') || key.length > 253 || !EXTENDED.test(key) ? [...names] : [...names, key];
}

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
  description:
    "per ClusterQueue × ResourceFlavor × GPU resource: quota promised vs healthy and lost GPUs on the flavor's nodes (a taint " +
    "counts as lost only if neither the flavor, Kaiwo's pods nor its Workloads tolerate it), in use, pending demand by Kueue reason; " +
    "why work is pending (lost hardware, quota by Kueue's cohort arithmetic — Cohorts, lending and borrowing limits, fair share —, " +
    'too large for any node, flavor without nodes) or runs on degraded nodes (admitted work ' +
    "with pods the scheduler marks Unschedulable cannot start, or with Kueue's PodsReady); " +
    'GPU nodes Kaiwo does not count (kaiwo/nodepool); GPUs at risk (healthy, but with a Critical hardware signal from gpuHardware); reads KaiwoConfig kaiwo',
  storageVersionOf: `clusterqueues.${KUEUE_GROUP}`,
  versionsOf: { cohorts: `cohorts.${KUEUE_GROUP}` },
  schema: obj('GPU capacity truth (CapacityHealthy)', {
    enabled: bool('compare Kueue quotas and pending demand with the GPUs the nodes really have', true),
    resourceNames: gpuResourceNames(
      "GPU resources compared (ClusterQueue resources and node capacity); KaiwoConfig's nodes.defaultGpuResourceKey is compared too",
    ),
    clusterQueueSelector: labelSelectorSchema('ClusterQueues to compare (default: all)', {}),
    workloadNamespaceSelector: labelSelectorSchema('namespaces whose pending Workloads count as demand (default: all)', {}),
    nodeSelector: labelSelectorSchema('nodes to count (default: all); flavors then match among these', {}),
    tableRows: int(
      `rows of status.summary.capacity.table (queues with the most pending GPUs first; at most ${SUMMARY_TABLE.rows})`,
      10,
      0,
      SUMMARY_TABLE.rows,
    ),
    kaiwoPool: obj(
      "Kaiwo's view: Kaiwo counts GPUs only on nodes labelled kaiwo/nodepool=<vendor>-<model>-<N>gpu… and takes N from the label",
      {
        enabled: bool(
          'report GPU nodes without the pool label (when other nodes have one) and pool labels whose N disagrees with the node',
          true,
        ),
        label: { type: 'string', default: 'kaiwo/nodepool', maxLength: 317, pattern: QUALIFIED_NAME, description: 'the pool label' },
      },
    ),
  }),
  selectors: ['clusterQueueSelector', 'workloadNamespaceSelector', 'nodeSelector'],
  rbac: [
    { apiGroups: [''], resources: ['nodes', 'namespaces', 'pods'], verbs: ['get', 'list', 'watch'] },
    {
      apiGroups: [KUEUE_GROUP],
      resources: ['clusterqueues', 'localqueues', 'workloads', 'resourceflavors', 'cohorts'],
      verbs: ['get', 'list', 'watch'],
    },
    {
      apiGroups: ['apiextensions.k8s.io'],
      resources: ['customresourcedefinitions'],
      resourceNames: [`clusterqueues.${KUEUE_GROUP}`, `cohorts.${KUEUE_GROUP}`],
      verbs: ['get'],
    },
    KAIWO_CONFIG_RBAC,
  ],
  // The same specs as the GPU-node and Kueue checks (same transform), so the informers are shared; KaiwoConfig is optional,
  // and so are the unbound pending pods (phase Pending, no node: few on a healthy cluster), projected to a few fields.
  sources: (s, env) => {
    const v = `${KUEUE_GROUP}/${env.storageVersion ?? 'v1beta2'}`;
    const namespaces = selectorString(s.workloadNamespaceSelector);
    const out: Record<string, SourceSpec> = {
      nodes: { apiVersion: 'v1', plural: 'nodes', kind: 'Node', transform: slimNode },
      clusterQueues: {
        apiVersion: v,
        plural: 'clusterqueues',
        kind: 'ClusterQueue',
        labelSelector: selectorString(s.clusterQueueSelector),
      },
      resourceFlavors: { apiVersion: v, plural: 'resourceflavors', kind: 'ResourceFlavor' },
      localQueues: { apiVersion: v, plural: 'localqueues', kind: 'LocalQueue' },
      workloads: { apiVersion: v, plural: 'workloads', kind: 'Workload', transform: slimWorkload },
      kaiwoConfig: kaiwoConfigSource,
      pendingPods: pendingPodsSource,
    };
    if (namespaces) out.namespaces = { apiVersion: 'v1', plural: 'namespaces', kind: 'Namespace', labelSelector: namespaces };
    // What a queue can borrow depends on every queue and Cohort of its cohort tree, selected or not. Cohort objects are
    // optional (served from Kueue v0.9: v1alpha1, then v1beta1/v1beta2; a queue naming a cohort without one is implicit).
    if (selectorString(s.clusterQueueSelector))
      out.allClusterQueues = { apiVersion: v, plural: 'clusterqueues', kind: 'ClusterQueue', optional: true };
    const cohorts = env.versions?.cohorts;
    if (cohorts) out.cohorts = { apiVersion: `${KUEUE_GROUP}/${cohorts}`, plural: 'cohorts', kind: 'Cohort', optional: true };
    return out;
  },
  gauges: {
    [CAPACITY_METRIC]: {
      help:
        'GPUs per ClusterQueue, ResourceFlavor and resource: promised (nominal + borrowing limit), healthy, at_risk (of the healthy, ' +
        "with a Critical hardware signal) and lost on the flavor's nodes, in use (reserved), pending (requested by pending Workloads)",
      labelNames: ['cluster_queue', 'flavor', 'resource', 'kind'],
    },
  },
  // The Critical hardware signals of gpuHardware (the same queries: shared with that check) make GPUs at risk.
  scrapes: (_s, monitor) => {
    const hw = hardwareOf(monitor);
    return hw ? signalScrapes(hw.signals, CRITICAL_FAMILIES, false) : {};
  },
  evaluate: ({ spec, data, env, scrapes, monitor }) =>
    evaluateCapacity(spec, data, env.storageVersion, atRiskOf(hardwareOf(monitor), scrapes, data.nodes)),
};

/** The gpuHardware section when it reads hardware signals. */
function hardwareOf(monitor: Readonly<Record<string, unknown>> | undefined): GPUHardwareSpec | undefined {
  const hw = monitor?.gpuHardware as GPUHardwareSpec | undefined;
  return hw?.enabled && hw.signals.enabled && hw.signals.prometheusURL ? hw : undefined;
}

/**
 * GPUs per node with a Critical hardware signal, from the hardware queries' latest answers; undefined (unknown: no
 * AT-RISK column, no gauge) when they are not read, not answered yet, or failing past their grace.
 */
function atRiskOf(
  hw: GPUHardwareSpec | undefined,
  scrapes: Record<string, ScrapeView>,
  nodes: SourceView | undefined,
): Map<string, number> | undefined {
  if (!hw || CRITICAL_FAMILIES.some((f) => scrapes[`hw.${f}`]?.state !== 'ok')) return undefined;
  const names = new Set((nodes?.objects ?? []).map((n) => n.metadata.name));
  return gpusByNode(readSignals(scrapes, names, hw.signals).signals);
}

/**
 * The evaluation, separate for the benchmark (hack/bench/capacity.ts): quota (the ClusterQueues' rows), supply (the
 * nodes of each flavor), demand (the Workloads), then the findings and the summary.
 */
export function evaluateCapacity(
  spec: CapacitySpec,
  data: CapacityData,
  storageVersion?: string,
  atRisk?: ReadonlyMap<string, number>,
): CheckResult {
  const apiVersion = `${KUEUE_GROUP}/${storageVersion ?? 'v1beta2'}`;
  const notReady = notEvaluable(data, apiVersion);
  if (notReady) return notReady;
  const kaiwo = kaiwoSettings(data.kaiwoConfig);
  const resources = comparedResources(spec.resourceNames, kaiwo);
  const nodes = selectedNodes(data.nodes?.objects ?? [], spec.nodeSelector, resources);
  const flavors = flavorsByName(data.resourceFlavors?.objects ?? []);
  const quota = quotaRows(data.clusterQueues?.objects ?? [], new Set(resources));
  const all =
    data.allClusterQueues?.state === 'synced' || data.allClusterQueues?.state === 'failing' ? data.allClusterQueues : data.clusterQueues;
  const tree = new CohortTree(all?.objects ?? [], data.cohorts?.objects ?? [], new Set(resources));
  const workloads = data.workloads?.objects ?? [];
  const queues = workloadQueues(data.localQueues?.objects ?? [], data.namespaces?.objects);
  // The tolerations of the work on each flavor, read only when a node carries a taint Kaiwo's pods may not tolerate.
  const tolerations = tolerationsMatter(nodes, resources, kaiwo)
    ? workloadTolerations(workloads, quota.rows, (f) => (queues.selected(f) ? queues.queueOf(f) : undefined))
    : undefined;
  const supply = flavorSupply(quota.rows, flavors, nodes, resources, kaiwo, tolerations, atRisk);
  const usage = flavorUsage(quota.rows, tree);
  const degraded = degradedFlavors(usage.inUse, supply);
  const placed = placeWorkloads(workloads, queues, queueResources(quota.byQueue, supply), degraded);
  const byFlavor = flavorFindings({
    apiVersion,
    rows: quota.rows,
    flavors,
    supply,
    inUse: usage.inUse,
    degraded,
    placed,
    pendingPods: data.pendingPods,
  });
  const pool = spec.kaiwoPool.enabled ? kaiwoPoolFindings(nodes, spec.kaiwoPool.label, kaiwo) : { findings: [], notInPool: 0 };
  const findings = [
    ...kaiwoConfigFindings(kaiwo),
    ...byFlavor.findings,
    ...rowFindings({ apiVersion, rows: quota.rows, supply, usage, queues: quota.queues, done: byFlavor.done }),
    ...tooLargeFindings(placed.tooLarge, apiVersion),
    ...pool.findings,
  ];
  return summarize(spec.tableRows, quota.rows, supply, findings, pool.notInPool, atRisk !== undefined);
}

/** The sources evaluated without when their first list fails; the others are waited for. */
const OPTIONAL_SOURCES = ['kaiwoConfig', 'pendingPods', 'allClusterQueues', 'cohorts'];

/**
 * Unknown while a source waits for its first list, or when Kueue is not installed. KaiwoConfig and the pending pods
 * are optional: waited for like any source, but not when their list fails (KaiwoConfig's defaults then; without
 * pods, Kueue's PodsReady tells running from waiting, where Kueue writes it).
 */
function notEvaluable(data: CapacityData, apiVersion: string): CheckResult | undefined {
  const waiting = waitingForRequired(data, OPTIONAL_SOURCES);
  if (waiting) return waiting;
  if (data.clusterQueues?.state === 'absent') {
    return {
      status: 'Unknown',
      reason: 'KueueNotInstalled',
      message: `Kueue's API (${apiVersion}) is not served: Kueue CRDs are not installed`,
      findings: [],
    };
  }
  return undefined;
}
