/** Kueue and node objects shaped like the API server's, for the capacity check's unit tests and benchmark. */
import type { KubeObject } from '../../src/runtime/objects.js';
import type { RowInput } from '../../src/checks/capacity-findings.js';
import { type CapacityRow, flavorUsage } from '../../src/checks/capacity-rows.js';
import { CohortTree } from '../../src/checks/cohort-tree.js';
import type { Supply } from '../../src/checks/capacity-supply.js';
import { slimPendingPod } from '../../src/checks/pending-pods.js';
import { slimWorkload } from '../../src/checks/workload-projection.js';
import { ago } from './fixtures.js';

export type Version = 'v1beta1' | 'v1beta2';
const kueue = (v: Version) => `kueue.x-k8s.io/${v}`;

export interface NodeOpts {
  resource?: string;
  gpus?: number;
  allocatable?: number;
  ready?: boolean;
  cordoned?: boolean;
  labels?: Record<string, string>;
  taints?: { key: string; value?: string; effect: string }[];
  /** DRA-style: no GPU extended resource at all. */
  dra?: boolean;
}

export function node(name: string, o: NodeOpts = {}): KubeObject {
  const res = o.resource ?? 'amd.com/gpu';
  const gpus = o.gpus ?? 8;
  const ext = o.dra ? {} : { [res]: String(gpus) };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...(o.labels ?? {}) } },
    spec: { ...(o.cordoned ? { unschedulable: true } : {}), ...(o.taints ? { taints: o.taints } : {}) },
    status: {
      capacity: { cpu: '96', memory: '1Ti', ...ext },
      allocatable: { cpu: '96', memory: '1Ti', ...(o.dra ? {} : { [res]: String(o.allocatable ?? gpus) }) },
      conditions: [
        {
          type: 'Ready',
          status: o.ready === false ? 'False' : 'True',
          reason: o.ready === false ? 'KubeletNotReady' : 'KubeletReady',
          lastTransitionTime: ago(3_600_000),
        },
      ],
    },
  };
}

export function flavor(
  name: string,
  nodeLabels: Record<string, string>,
  extra: { tolerations?: object[]; nodeTaints?: object[] } = {},
  v: Version = 'v1beta2',
): KubeObject {
  return { apiVersion: kueue(v), kind: 'ResourceFlavor', metadata: { name }, spec: { nodeLabels, ...extra } };
}

export interface QuotaOpts {
  name: string;
  nominal: number | string;
  borrowingLimit?: number | string;
  lendingLimit?: number | string;
}

export interface CqOpts {
  flavors: { name: string; resources: QuotaOpts[] }[];
  cohort?: string;
  /** flavor → resource → GPUs reserved. */
  reserved?: Record<string, Record<string, number>>;
  /** Write only flavorsUsage (older status), not flavorsReservation. */
  usageOnly?: boolean;
  labels?: Record<string, string>;
  v?: Version;
}

export function clusterQueue(name: string, o: CqOpts): KubeObject {
  const v = o.v ?? 'v1beta2';
  const usage = Object.entries(o.reserved ?? {}).map(([f, rs]) => ({
    name: f,
    resources: Object.entries(rs).map(([r, total]) => ({ name: r, total: String(total), borrowed: '0' })),
  }));
  return {
    apiVersion: kueue(v),
    kind: 'ClusterQueue',
    metadata: { name, ...(o.labels ? { labels: o.labels } : {}) },
    spec: {
      ...(o.cohort ? (v === 'v1beta1' ? { cohort: o.cohort } : { cohortName: o.cohort }) : {}),
      namespaceSelector: {},
      resourceGroups: [
        {
          coveredResources: [...new Set(o.flavors.flatMap((f) => f.resources.map((r) => r.name)))],
          flavors: o.flavors.map((f) => ({
            name: f.name,
            resources: f.resources.map((r) => ({
              name: r.name,
              nominalQuota: r.nominal,
              ...(r.borrowingLimit !== undefined ? { borrowingLimit: r.borrowingLimit } : {}),
              ...(r.lendingLimit !== undefined ? { lendingLimit: r.lendingLimit } : {}),
            })),
          })),
        },
      ],
    },
    status: {
      ...(o.usageOnly ? {} : { flavorsReservation: usage }),
      flavorsUsage: usage,
      conditions: [
        { type: 'Active', status: 'True', reason: 'Ready', message: 'Can admit new workloads', lastTransitionTime: ago(600_000) },
      ],
    },
  };
}

export function localQueue(namespace: string, name: string, cq: string, v: Version = 'v1beta2'): KubeObject {
  return { apiVersion: kueue(v), kind: 'LocalQueue', metadata: { name, namespace }, spec: { clusterQueue: cq } };
}

export interface WlOpts {
  queue?: string;
  podSets?: { count: number; gpus: number; resource?: string; name?: string }[];
  /** Admitted (QuotaReserved=True) to this ClusterQueue. */
  admittedTo?: string;
  /** The flavor Kueue assigned to every pod set's GPUs (status.admission.podSetAssignments) when admitted. */
  flavor?: string;
  /** Kueue's PodsReady condition (written only with waitForPodsReady): True (Started) or False (WaitForStart). */
  podsReady?: boolean;
  /** The pod template's tolerations (every pod set). */
  tolerations?: object[];
  reason?: string;
  message?: string;
  finished?: boolean;
  v?: Version;
}

/** A Workload as the informer caches it (projected by slimWorkload, like the source's transform). */
export function workload(namespace: string, name: string, o: WlOpts = {}): KubeObject {
  const v = o.v ?? 'v1beta2';
  const conditions: object[] = [
    o.admittedTo
      ? {
          type: 'QuotaReserved',
          status: 'True',
          reason: 'QuotaReserved',
          message: `Quota reserved in ClusterQueue ${o.admittedTo}`,
          lastTransitionTime: ago(60_000),
        }
      : {
          type: 'QuotaReserved',
          status: 'False',
          reason: o.reason ?? (v === 'v1beta1' ? 'Pending' : 'WaitingForQuota'),
          message: o.message ?? "couldn't assign flavors to pod set main: insufficient unused quota",
          lastTransitionTime: ago(60_000),
        },
  ];
  if (o.finished) conditions.push({ type: 'Finished', status: 'True', reason: 'Succeeded', message: '', lastTransitionTime: ago(1000) });
  if (o.podsReady !== undefined) {
    conditions.push(
      o.podsReady
        ? {
            type: 'PodsReady',
            status: 'True',
            reason: 'Started',
            message: 'All pods reached readiness and the workload is running',
            lastTransitionTime: ago(30_000),
          }
        : {
            type: 'PodsReady',
            status: 'False',
            reason: 'WaitForStart',
            message: 'Not all pods are ready or succeeded',
            lastTransitionTime: ago(30_000),
          },
    );
  }
  const sets = (o.podSets ?? [{ count: 1, gpus: 8 }]).map((p, i) => ({
    ...p,
    name: p.name ?? (i ? `workers-${i}` : 'main'),
    resource: p.resource ?? 'amd.com/gpu',
  }));
  const podSets = sets.map((p) => ({
    name: p.name,
    count: p.count,
    template: {
      spec: {
        restartPolicy: 'Never',
        ...(o.tolerations ? { tolerations: o.tolerations } : {}),
        containers: [
          {
            name: 'train',
            image: 'rocm/pytorch',
            resources: { requests: { cpu: '4', [p.resource]: String(p.gpus) }, limits: { [p.resource]: String(p.gpus) } },
          },
        ],
      },
    },
  }));
  const podSetAssignments = o.flavor
    ? sets.map((p) => ({
        name: p.name,
        count: p.count,
        flavors: { cpu: 'default', [p.resource]: o.flavor },
        resourceUsage: { [p.resource]: String(p.gpus * p.count) },
      }))
    : [];
  return slimWorkload({
    apiVersion: kueue(v),
    kind: 'Workload',
    metadata: { name, namespace, creationTimestamp: ago(120_000) },
    spec: { queueName: o.queue ?? 'team', podSets },
    status: { conditions, ...(o.admittedTo ? { admission: { clusterQueue: o.admittedTo, podSetAssignments } } : {}) },
  });
}

/** KaiwoConfig `kaiwo` as the API server returns it (CRD defaults filled in), with `nodes` and top-level fields overridden. */
export function kaiwoConfig(nodes: Record<string, unknown> = {}, top: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'config.kaiwo.silogen.ai/v1alpha1',
    kind: 'KaiwoConfig',
    metadata: { name: 'kaiwo' },
    spec: {
      nodes: {
        defaultGpuResourceKey: 'amd.com/gpu',
        defaultGpuTaintKey: 'kaiwo.silogen.ai/gpu',
        excludeMasterNodesFromNodePools: false,
        addTaintsToGpuNodes: false,
        ...nodes,
      },
      scheduling: { kubeSchedulerName: 'kaiwo-scheduler', pendingThresholdForPreemption: '5m' },
      defaultClusterQueueName: 'kaiwo',
      defaultClusterQueueCohortName: 'kaiwo',
      dynamicallyUpdateDefaultClusterQueue: false,
      ...top,
    },
  };
}

/** Kaiwo's GPU taint (utils/kueue.go CreateDefaultResourceFlavors) and the toleration it adds to its GPU pods (podspec.go). */
export const KAIWO_TAINT = { key: 'kaiwo.silogen.ai/gpu', value: 'true', effect: 'NoSchedule' };
export const KAIWO_TOLERATION = { key: 'kaiwo.silogen.ai/gpu', operator: 'Exists', effect: 'NoSchedule' };

export interface PodOpts {
  /** What the pod's one container requests of `resource` (a quantity). */
  gpus?: number | string;
  resource?: string;
  /** spec.nodeSelector: Kueue merges the nodeLabels of the flavors it assigned into it on admission. */
  nodeSelector?: Record<string, string>;
  /** The PodScheduled condition: Unschedulable (the scheduler tried), SchedulingGated, or none (not tried yet). */
  scheduled?: 'Unschedulable' | 'SchedulingGated' | 'none';
  message?: string;
}

/** An unbound Pending pod as the informer caches it (projected by slimPendingPod, like the source's transform). */
export function pendingPod(namespace: string, name: string, o: PodOpts = {}): KubeObject {
  const res = o.resource ?? 'amd.com/gpu';
  const gpus = String(o.gpus ?? 8);
  const reason = o.scheduled ?? 'Unschedulable';
  const message =
    o.message ??
    (reason === 'Unschedulable'
      ? `0/2 nodes are available: 2 Insufficient ${res}. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.`
      : '');
  return slimPendingPod({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace,
      uid: `uid-${name}`,
      resourceVersion: '42',
      creationTimestamp: ago(30_000),
      labels: { 'batch.kubernetes.io/job-name': name.replace(/-[^-]*$/, '') },
      ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: name.replace(/-[^-]*$/, ''), controller: true }],
    },
    spec: {
      restartPolicy: 'Never',
      schedulerName: 'default-scheduler',
      ...(o.nodeSelector ? { nodeSelector: o.nodeSelector } : {}),
      ...(reason === 'SchedulingGated' ? { schedulingGates: [{ name: 'kueue.x-k8s.io/admission' }] } : {}),
      containers: [{ name: 'train', image: 'rocm/pytorch', resources: { requests: { cpu: '4', [res]: gpus }, limits: { [res]: gpus } } }],
    },
    status: {
      phase: 'Pending',
      qosClass: 'Burstable',
      ...(reason === 'none'
        ? {}
        : {
            conditions: [{ type: 'PodScheduled', status: 'False', reason, message, lastProbeTime: null, lastTransitionTime: ago(20_000) }],
          }),
    },
  });
}

/** A capacity row of amd.com/gpu (ClusterQueue × flavor × resource): nothing promised, in use or pending unless `over` says so. */
export function row(cq: string, flavorName: string, over: Partial<CapacityRow> = {}): CapacityRow {
  return {
    cq,
    flavor: flavorName,
    resource: 'amd.com/gpu',
    nominal: 0,
    promised: 0,
    inUse: 0,
    pending: 0,
    pendingWorkloads: 0,
    minNeed: Infinity,
    reasons: new Map(),
    why: '',
    ...over,
  };
}

/** A flavor's supply of one resource: one reporting 8-GPU node, all healthy, unless `over` says otherwise. */
export function supply(over: Partial<Supply> = {}): Supply {
  return { matched: 1, reporting: 1, healthy: 8, lost: 0, maxPerNode: 8, lostOn: [], tolerated: [], atRisk: 0, atRiskOn: [], ...over };
}

/** rowFindings' input: `rows` on flavor mi300x (resource amd.com/gpu), whose nodes offer `s`; `done` flavors judged already. */
export function rowInput(rows: CapacityRow[], s: Supply, done: string[] = []): RowInput {
  return {
    apiVersion: 'kueue.x-k8s.io/v1beta2',
    rows,
    supply: new Map([['mi300x|amd.com/gpu', s]]),
    usage: usageOf(rows),
    queues: new Map(),
    done: new Set(done),
  };
}

/** The ClusterQueues the rows stand for (cohort, quotas with their limits, reservation): what the cohort tree reads. */
export function queuesOf(rows: readonly CapacityRow[]): KubeObject[] {
  const byQueue = new Map<string, CapacityRow[]>();
  for (const r of rows) byQueue.set(r.cq, [...(byQueue.get(r.cq) ?? []), r]);
  return [...byQueue].map(([name, rs]) => ({
    metadata: { name },
    spec: {
      ...(rs[0]?.cohort ? { cohort: rs[0].cohort } : {}),
      resourceGroups: rs.map((r) => ({
        flavors: [
          {
            name: r.flavor,
            resources: [
              {
                name: r.resource,
                nominalQuota: String(r.nominal),
                ...(r.borrowingLimit !== undefined ? { borrowingLimit: String(r.borrowingLimit) } : {}),
              },
            ],
          },
        ],
      })),
    },
    status: { flavorsReservation: rs.map((r) => ({ name: r.flavor, resources: [{ name: r.resource, total: String(r.inUse) }] })) },
  }));
}

/** flavorUsage over the rows' own queues (no Cohort objects). */
export const usageOf = (rows: readonly CapacityRow[], cohorts: KubeObject[] = []) =>
  flavorUsage(rows, new CohortTree(queuesOf(rows), cohorts, new Set(rows.map((r) => r.resource))));
