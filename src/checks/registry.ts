import type { KaiwoMonitorSpec } from '../api/types.js';
import { selectorString } from '../runtime/selector.js';
import { type BoundCheck, bindCheck, type ComponentCheck, notObserved } from './types.js';

/**
 * The registered checks, one per component. The KaiwoMonitor API/runtime issue ships them as stubs that watch
 * what the real checks will need and report Unknown; each real check replaces its stub here.
 */
const stub = (message: string) => ({ status: 'Unknown' as const, reason: 'CheckNotImplemented', message, findings: [] });

const operator: ComponentCheck<KaiwoMonitorSpec['operator']> = {
  component: 'operator',
  section: (s) => s.operator,
  sources: (s) => ({
    deployments: { apiVersion: 'apps/v1', plural: 'deployments', kind: 'Deployment', namespace: s.namespace },
    pods: { apiVersion: 'v1', plural: 'pods', kind: 'Pod', namespace: s.namespace, labelSelector: selectorString(s.podSelector) },
    leases: { apiVersion: 'coordination.k8s.io/v1', plural: 'leases', kind: 'Lease', namespace: s.namespace },
  }),
  evaluate: ({ data }) => notObserved(data) ?? stub('Kaiwo operator checks are not implemented yet'),
};

const kueue: ComponentCheck<KaiwoMonitorSpec['kueue']> = {
  component: 'kueue',
  section: (s) => s.kueue,
  sources: () => ({
    clusterQueues: { apiVersion: 'kueue.x-k8s.io/v1beta2', plural: 'clusterqueues', kind: 'ClusterQueue' },
  }),
  evaluate: ({ data }) => notObserved(data) ?? stub('Kueue checks are not implemented yet'),
};

const gpuNodes: ComponentCheck<KaiwoMonitorSpec['gpuNodes']> = {
  component: 'gpuNodes',
  section: (s) => s.gpuNodes,
  sources: () => ({ nodes: { apiVersion: 'v1', plural: 'nodes', kind: 'Node' } }),
  evaluate: ({ data }) => notObserved(data) ?? stub('GPU node checks are not implemented yet'),
};

const workloads: ComponentCheck<KaiwoMonitorSpec['workloads']> = {
  component: 'workloads',
  section: (s) => s.workloads,
  sources: () => ({
    kaiwoJobs: { apiVersion: 'kaiwo.silogen.ai/v1alpha1', plural: 'kaiwojobs', kind: 'KaiwoJob' },
    kaiwoServices: { apiVersion: 'kaiwo.silogen.ai/v1alpha1', plural: 'kaiwoservices', kind: 'KaiwoService' },
  }),
  evaluate: ({ data }) => notObserved(data) ?? stub('workload checks are not implemented yet'),
};

/** Every check bound to a monitor's spec, in condition order. Adding a check = one line here. */
export function checksFor(spec: KaiwoMonitorSpec): BoundCheck[] {
  return [bindCheck(operator, spec), bindCheck(kueue, spec), bindCheck(gpuNodes, spec), bindCheck(workloads, spec)];
}
