import { isRecord } from '../runtime/objects.js';
import type { Toleration } from './scheduling.js';
import type { PolicyRule, SourceSpec, SourceView } from './types.js';

/**
 * KaiwoConfig `kaiwo` (config.kaiwo.silogen.ai/v1alpha1, cluster-scoped, no status): the settings of the Kaiwo
 * operator that change what is true of the cluster (apis/config/v1alpha1/kaiwoconfig_types.go, identical in v0.1.9
 * and v0.2.0-rc12). Kaiwo reads only the object named `kaiwo` and creates it empty at start-up; the API server fills
 * in the CRD defaults. A missing object, a CRD that is not served or an object that cannot be read means Kaiwo's
 * defaults.
 */
export const KAIWO_CONFIG_GROUP = 'config.kaiwo.silogen.ai';
export const KAIWO_CONFIG_NAME = 'kaiwo';

export interface KaiwoSettings {
  /** Where the values come from. */
  from: 'KaiwoConfig' | 'defaults';
  /** nodes.defaultGpuResourceKey: the GPU resource of Kaiwo pods whose gpuVendor is neither amd nor nvidia. */
  gpuResourceKey: string;
  /** nodes.defaultGpuTaintKey: the key of the taint Kaiwo puts on GPU nodes, and of its pods' toleration. */
  gpuTaintKey: string;
  /** nodes.addTaintsToGpuNodes: Kaiwo taints the nodes of its GPU pools `<gpuTaintKey>=true:NoSchedule`. */
  addTaintsToGpuNodes: boolean;
  /** nodes.excludeMasterNodesFromNodePools: control-plane and master nodes are in no Kaiwo pool. */
  excludeMasterNodesFromNodePools: boolean;
  /** defaultClusterQueueName: the ClusterQueue Kaiwo generates from its pools. */
  defaultClusterQueueName: string;
  /** dynamicallyUpdateDefaultClusterQueue: Kaiwo relabels nodes and regenerates its ClusterQueue on every sync. */
  dynamicallyUpdateDefaultClusterQueue: boolean;
  /** Why the object could not be read (its list fails before it ever succeeded): the defaults are assumed. */
  unreadable?: string;
}

/** The CRD defaults (+kubebuilder:default). */
export const KAIWO_DEFAULTS: KaiwoSettings = Object.freeze({
  from: 'defaults',
  gpuResourceKey: 'amd.com/gpu',
  gpuTaintKey: 'kaiwo.silogen.ai/gpu',
  addTaintsToGpuNodes: false,
  excludeMasterNodesFromNodePools: false,
  defaultClusterQueueName: 'kaiwo',
  dynamicallyUpdateDefaultClusterQueue: false,
});

export const kaiwoConfigSource: SourceSpec = {
  apiVersion: `${KAIWO_CONFIG_GROUP}/v1alpha1`,
  plural: 'kaiwoconfigs',
  kind: 'KaiwoConfig',
  fieldSelector: `metadata.name=${KAIWO_CONFIG_NAME}`,
  optional: true,
};
export const KAIWO_CONFIG_RBAC: PolicyRule = {
  apiGroups: [KAIWO_CONFIG_GROUP],
  resources: ['kaiwoconfigs'],
  verbs: ['get', 'list', 'watch'],
};

const MAX_STRING = 317;
const text = (v: unknown, def: string): string => (typeof v === 'string' ? v.slice(0, MAX_STRING) : def);
const flag = (v: unknown, def: boolean): boolean => (typeof v === 'boolean' ? v : def);

/** The settings in force: the object's fields (a field of the wrong type counts as absent), else the defaults. */
export function kaiwoSettings(view: SourceView | undefined): KaiwoSettings {
  if (view?.state === 'pending') return view.error ? { ...KAIWO_DEFAULTS, unreadable: view.error.slice(0, 200) } : KAIWO_DEFAULTS;
  const obj = view?.objects.find((o) => o.metadata.name === KAIWO_CONFIG_NAME);
  if (!obj) return KAIWO_DEFAULTS;
  const spec = isRecord(obj.spec) ? obj.spec : {};
  const nodes = isRecord(spec.nodes) ? spec.nodes : {};
  const d = KAIWO_DEFAULTS;
  return {
    from: 'KaiwoConfig',
    gpuResourceKey: text(nodes.defaultGpuResourceKey, d.gpuResourceKey),
    gpuTaintKey: text(nodes.defaultGpuTaintKey, d.gpuTaintKey),
    addTaintsToGpuNodes: flag(nodes.addTaintsToGpuNodes, d.addTaintsToGpuNodes),
    excludeMasterNodesFromNodePools: flag(nodes.excludeMasterNodesFromNodePools, d.excludeMasterNodesFromNodePools),
    defaultClusterQueueName: text(spec.defaultClusterQueueName, d.defaultClusterQueueName),
    dynamicallyUpdateDefaultClusterQueue: flag(spec.dynamicallyUpdateDefaultClusterQueue, d.dynamicallyUpdateDefaultClusterQueue),
  };
}

/**
 * The toleration Kaiwo adds to every pod template it builds whose containers request amd.com/gpu or nvidia.com/gpu
 * (those two names, whatever defaultGpuResourceKey says), when addTaintsToGpuNodes is set
 * (pkg/workloads/common/podspec.go: v0.1.9 lines 109-133, v0.2.0-rc12 lines 117-141). Undefined when Kaiwo adds none.
 */
export function kaiwoToleration(s: KaiwoSettings, resource: string): Toleration | undefined {
  if (!s.addTaintsToGpuNodes || (resource !== 'amd.com/gpu' && resource !== 'nvidia.com/gpu')) return undefined;
  return { key: s.gpuTaintKey, operator: 'Exists', value: '', effect: 'NoSchedule' };
}

/** Node labels that make a node a control-plane node for Kaiwo (present with any value). */
export const CONTROL_PLANE_LABELS = ['node-role.kubernetes.io/control-plane', 'node-role.kubernetes.io/master'] as const;
