/** Objects shaped like what the API server returns, for check unit tests and integration scenarios. */
import { isoSeconds } from '../../src/api/time.js';
import type { KubeObject } from '../../src/runtime/objects.js';
import type { SourceView } from '../../src/checks/types.js';

export const NOW = new Date('2026-06-01T12:00:00Z');
export const ago = (ms: number, now = NOW) => isoSeconds(now.getTime() - ms);
export const view = (objects: KubeObject[], state: SourceView['state'] = 'synced'): SourceView => ({ state, objects });

export function gpuNode(
  name: string,
  opts: {
    vendor?: 'amd' | 'nvidia';
    gpus?: number;
    allocatable?: number;
    ready?: boolean;
    readySince?: string;
    cordoned?: boolean;
    labels?: Record<string, string>;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
    noResource?: boolean;
  } = {},
): KubeObject {
  const res = opts.vendor === 'nvidia' ? 'nvidia.com/gpu' : 'amd.com/gpu';
  const gpus = opts.gpus ?? 8;
  const resources = opts.noResource ? {} : { [res]: String(gpus) };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...(opts.labels ?? {}) } },
    spec: opts.cordoned ? { unschedulable: true } : {},
    status: {
      capacity: { cpu: '96', memory: '1Ti', ...resources },
      allocatable: { cpu: '96', memory: '1Ti', ...(opts.noResource ? {} : { [res]: String(opts.allocatable ?? gpus) }) },
      conditions: [
        {
          type: 'Ready',
          status: opts.ready === false ? 'False' : 'True',
          reason: opts.ready === false ? 'KubeletNotReady' : 'KubeletReady',
          lastTransitionTime: opts.readySince ?? ago(3_600_000),
        },
        ...(opts.conditions ?? []).map((c) => ({ lastTransitionTime: ago(60_000), ...c })),
      ],
    },
  };
}

export function deployment(namespace: string, name: string, available = 1, replicas = 1): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace },
    spec: { replicas },
    status: { replicas, availableReplicas: available, readyReplicas: available },
  };
}

export function lease(
  namespace: string,
  name: string,
  renewedAgoMs: number,
  holder = 'pod-1_abc',
  durationSeconds = 15,
  now = NOW,
): KubeObject {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name, namespace },
    spec: {
      holderIdentity: holder,
      leaseDurationSeconds: durationSeconds,
      renewTime: new Date(now.getTime() - renewedAgoMs)
        .toISOString()
        .replace('Z', '000Z')
        .replace(/\.(\d{3})000Z$/, '.$1000Z'),
    },
  };
}

export function clusterQueue(
  name: string,
  opts: { active?: boolean; reason?: string; pending?: number; gpuQuota?: number; gpuUsed?: number } = {},
): KubeObject {
  return {
    apiVersion: 'kueue.x-k8s.io/v1beta2',
    kind: 'ClusterQueue',
    metadata: { name },
    spec: {
      resourceGroups: [
        {
          coveredResources: ['amd.com/gpu'],
          flavors: [{ name: 'mi300x', resources: [{ name: 'amd.com/gpu', nominalQuota: opts.gpuQuota ?? 16 }] }],
        },
      ],
    },
    status: {
      pendingWorkloads: opts.pending ?? 0,
      admittedWorkloads: 1,
      flavorsUsage: [{ name: 'mi300x', resources: [{ name: 'amd.com/gpu', total: String(opts.gpuUsed ?? 8) }] }],
      conditions: [
        {
          type: 'Active',
          status: opts.active === false ? 'False' : 'True',
          reason: opts.active === false ? (opts.reason ?? 'Stopped') : 'Ready',
          message: opts.active === false ? "Can't admit new workloads: is stopped." : 'Can admit new workloads',
          lastTransitionTime: ago(600_000),
        },
      ],
    },
  };
}

export function localQueue(namespace: string, name: string, clusterQueueName: string, active = true): KubeObject {
  return {
    apiVersion: 'kueue.x-k8s.io/v1beta2',
    kind: 'LocalQueue',
    metadata: { name, namespace },
    spec: { clusterQueue: clusterQueueName },
    status: {
      conditions: [
        {
          type: 'Active',
          status: active ? 'True' : 'False',
          reason: active ? 'Ready' : 'ClusterQueueDoesNotExist',
          message: '',
          lastTransitionTime: ago(600_000),
        },
      ],
    },
  };
}

export function workload(
  namespace: string,
  name: string,
  opts: { queue?: string; createdAgoMs?: number; reserved?: boolean; evictedAgoMs?: number; rejected?: boolean } = {},
): KubeObject {
  const conditions: unknown[] = [];
  if (opts.reserved)
    conditions.push({ type: 'QuotaReserved', status: 'True', reason: 'QuotaReserved', message: '', lastTransitionTime: ago(60_000) });
  else
    conditions.push({
      type: 'QuotaReserved',
      status: 'False',
      reason: 'Pending',
      message: 'insufficient quota',
      lastTransitionTime: ago(opts.createdAgoMs ?? 60_000),
    });
  if (opts.evictedAgoMs !== undefined)
    conditions.push({ type: 'Evicted', status: 'True', reason: 'Preempted', message: '', lastTransitionTime: ago(opts.evictedAgoMs) });
  return {
    apiVersion: 'kueue.x-k8s.io/v1beta2',
    kind: 'Workload',
    metadata: { name, namespace, creationTimestamp: ago(opts.createdAgoMs ?? 60_000) },
    spec: {
      queueName: opts.queue ?? 'kaiwo',
      podSets: [{ name: 'main', count: 1, template: { spec: { containers: [{ name: 'c', image: 'x' }] } } }],
    },
    status: { conditions, ...(opts.rejected ? { admissionChecks: [{ name: 'prov', state: 'Rejected', message: 'no capacity' }] } : {}) },
  };
}

export function kaiwoWorkload(
  kind: 'KaiwoJob' | 'KaiwoService',
  namespace: string,
  name: string,
  status: string,
  sinceAgoMs = 60_000,
): KubeObject {
  return {
    apiVersion: 'kaiwo.silogen.ai/v1alpha1',
    kind,
    metadata: { name, namespace, creationTimestamp: ago(sinceAgoMs + 1000) },
    spec: {},
    status: {
      status,
      conditions: [{ type: 'Schedulable', status: 'True', reason: 'Schedulable', message: '', lastTransitionTime: ago(sinceAgoMs) }],
    },
  };
}
