/** Kueue and node objects shaped like the API server's, for the capacity check's unit tests and benchmark. */
import type { KubeObject } from '../../src/runtime/objects.js';
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
    apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name, ...(o.labels ?? {}) } },
    spec: { ...(o.cordoned ? { unschedulable: true } : {}), ...(o.taints ? { taints: o.taints } : {}) },
    status: {
      capacity: { cpu: '96', memory: '1Ti', ...ext },
      allocatable: { cpu: '96', memory: '1Ti', ...(o.dra ? {} : { [res]: String(o.allocatable ?? gpus) }) },
      conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True', reason: o.ready === false ? 'KubeletNotReady' : 'KubeletReady', lastTransitionTime: ago(3_600_000) }],
    },
  };
}

export function flavor(name: string, nodeLabels: Record<string, string>, extra: { tolerations?: object[]; nodeTaints?: object[] } = {}, v: Version = 'v1beta2'): KubeObject {
  return { apiVersion: kueue(v), kind: 'ResourceFlavor', metadata: { name }, spec: { nodeLabels, ...extra } };
}

export interface QuotaOpts { name: string; nominal: number | string; borrowingLimit?: number | string }

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
  const usage = Object.entries(o.reserved ?? {}).map(([f, rs]) => ({ name: f, resources: Object.entries(rs).map(([r, total]) => ({ name: r, total: String(total), borrowed: '0' })) }));
  return {
    apiVersion: kueue(v), kind: 'ClusterQueue', metadata: { name, ...(o.labels ? { labels: o.labels } : {}) },
    spec: {
      ...(o.cohort ? (v === 'v1beta1' ? { cohort: o.cohort } : { cohortName: o.cohort }) : {}),
      namespaceSelector: {},
      resourceGroups: [{
        coveredResources: [...new Set(o.flavors.flatMap((f) => f.resources.map((r) => r.name)))],
        flavors: o.flavors.map((f) => ({ name: f.name, resources: f.resources.map((r) => ({ name: r.name, nominalQuota: r.nominal, ...(r.borrowingLimit !== undefined ? { borrowingLimit: r.borrowingLimit } : {}) })) })),
      }],
    },
    status: {
      ...(o.usageOnly ? {} : { flavorsReservation: usage }), flavorsUsage: usage,
      conditions: [{ type: 'Active', status: 'True', reason: 'Ready', message: 'Can admit new workloads', lastTransitionTime: ago(600_000) }],
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
  reason?: string;
  message?: string;
  finished?: boolean;
  v?: Version;
}

/** A Workload as the informer caches it (projected by slimWorkload, like the source's transform). */
export function workload(namespace: string, name: string, o: WlOpts = {}): KubeObject {
  const v = o.v ?? 'v1beta2';
  const conditions: object[] = [o.admittedTo
    ? { type: 'QuotaReserved', status: 'True', reason: 'QuotaReserved', message: `Quota reserved in ClusterQueue ${o.admittedTo}`, lastTransitionTime: ago(60_000) }
    : { type: 'QuotaReserved', status: 'False', reason: o.reason ?? (v === 'v1beta1' ? 'Pending' : 'WaitingForQuota'), message: o.message ?? "couldn't assign flavors to pod set main: insufficient unused quota", lastTransitionTime: ago(60_000) }];
  if (o.finished) conditions.push({ type: 'Finished', status: 'True', reason: 'Succeeded', message: '', lastTransitionTime: ago(1000) });
  const podSets = (o.podSets ?? [{ count: 1, gpus: 8 }]).map((p, i) => ({
    name: p.name ?? (i ? `workers-${i}` : 'main'), count: p.count,
    template: { spec: { restartPolicy: 'Never', containers: [{ name: 'train', image: 'rocm/pytorch', resources: { requests: { cpu: '4', [p.resource ?? 'amd.com/gpu']: String(p.gpus) }, limits: { [p.resource ?? 'amd.com/gpu']: String(p.gpus) } } }] } },
  }));
  return slimWorkload({
    apiVersion: kueue(v), kind: 'Workload', metadata: { name, namespace, creationTimestamp: ago(120_000) },
    spec: { queueName: o.queue ?? 'team', podSets },
    status: { conditions, ...(o.admittedTo ? { admission: { clusterQueue: o.admittedTo, podSetAssignments: [] } } : {}) },
  });
}
