import type { KubeConfig } from '@kubernetes/client-node';
import { rawJson } from '../../runtime/rawrequest.js';
import { apply } from './apply.js';
import type { Manifest } from './kustomize.js';

/**
 * The GPU node agents on the test bed, as the vendors' operators install them (ROCm/gpu-operator, NVIDIA/gpu-operator
 * assets; README "GPU hardware"):
 * real DaemonSets whose pods the real kube-controller-manager's DaemonSet controller creates on the kwok GPU nodes
 * (the default scheduler binds them, kwok's pod-ready stage makes them Ready; no process runs behind them — the
 * exporters' output comes from gpu-exporters.ts).
 *
 * - AMD GPU operator, DeviceConfig `default` in `kube-amd-gpu`: DaemonSets `default-device-plugin` and
 *   `default-node-labeller` whose pods both carry only `daemonset-name: default` (the operator's labels), on the
 *   DeviceConfig's selector (NFD's `feature.node.kubernetes.io/amd-gpu: "true"`); `default-metrics-exporter`
 *   (pods also `app.kubernetes.io/name: metrics-exporter`) on the same selector.
 * - NVIDIA GPU operator in `gpu-operator`: `nvidia-device-plugin-daemonset` (`app: nvidia-device-plugin-daemonset`)
 *   on `nvidia.com/gpu.deploy.device-plugin: "true"` and `nvidia-dcgm-exporter` (`app: nvidia-dcgm-exporter`) on
 *   `nvidia.com/gpu.deploy.dcgm-exporter: "true"`: the per-operand node labels the operator writes on nodes with
 *   `nvidia.com/gpu.present=true` (written here by `installNodeAgents`, standing in for it).
 *
 * The test bed's kwok nodes carry no taint (kwok's `kwok.x-k8s.io/node=fake:NoSchedule` is an example, not a
 * default), so the pods need no toleration for kwok; they tolerate the vendors' GPU taints as the operators' do.
 */

export const AMD_GPU_NAMESPACE = 'kube-amd-gpu';
export const NVIDIA_GPU_NAMESPACE = 'gpu-operator';
/** The AMD DeviceConfig's `spec.selector`: the NFD label the AMD operator's operands run on. */
export const AMD_SELECTOR_LABEL = 'feature.node.kubernetes.io/amd-gpu';
/** The NVIDIA GPU operator's per-operand deploy labels. */
export const NVIDIA_DEPLOY_LABELS = ['nvidia.com/gpu.deploy.device-plugin', 'nvidia.com/gpu.deploy.dcgm-exporter'];

export interface AgentDaemonSet {
  namespace: string;
  name: string;
  /** The pod labels (the DaemonSet's selector). */
  labels: Record<string, string>;
  nodeSelector: Record<string, string>;
  image: string;
}

export const AGENT_DAEMONSETS: readonly AgentDaemonSet[] = [
  {
    namespace: AMD_GPU_NAMESPACE,
    name: 'default-device-plugin',
    labels: { 'daemonset-name': 'default' },
    nodeSelector: { [AMD_SELECTOR_LABEL]: 'true' },
    image: 'docker.io/rocm/k8s-device-plugin:latest',
  },
  {
    namespace: AMD_GPU_NAMESPACE,
    name: 'default-node-labeller',
    labels: { 'daemonset-name': 'default' },
    nodeSelector: { [AMD_SELECTOR_LABEL]: 'true' },
    image: 'docker.io/rocm/k8s-device-plugin:labeller-latest',
  },
  {
    namespace: AMD_GPU_NAMESPACE,
    name: 'default-metrics-exporter',
    labels: { 'daemonset-name': 'default', 'app.kubernetes.io/name': 'metrics-exporter' },
    nodeSelector: { [AMD_SELECTOR_LABEL]: 'true' },
    image: 'docker.io/rocm/device-metrics-exporter:v1.4.0',
  },
  {
    namespace: NVIDIA_GPU_NAMESPACE,
    name: 'nvidia-device-plugin-daemonset',
    labels: { app: 'nvidia-device-plugin-daemonset' },
    nodeSelector: { 'nvidia.com/gpu.deploy.device-plugin': 'true' },
    image: 'nvcr.io/nvidia/k8s-device-plugin:v0.17.0',
  },
  {
    namespace: NVIDIA_GPU_NAMESPACE,
    name: 'nvidia-dcgm-exporter',
    labels: { app: 'nvidia-dcgm-exporter' },
    nodeSelector: { 'nvidia.com/gpu.deploy.dcgm-exporter': 'true' },
    image: 'nvcr.io/nvidia/k8s/dcgm-exporter:3.3.9-3.6.1-ubuntu22.04',
  },
];

const TOLERATIONS = [
  { key: 'amd.com/gpu', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' },
];

function daemonSet(d: AgentDaemonSet): Manifest {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: d.name, namespace: d.namespace },
    spec: {
      selector: { matchLabels: d.labels },
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
      template: {
        metadata: { labels: d.labels },
        spec: {
          nodeSelector: d.nodeSelector,
          tolerations: TOLERATIONS,
          priorityClassName: 'system-node-critical',
          containers: [{ name: d.name.replace(/^default-/, ''), image: d.image }],
        },
      },
    },
  };
}

export function nodeAgentManifests(): Manifest[] {
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: AMD_GPU_NAMESPACE } },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NVIDIA_GPU_NAMESPACE } },
    ...AGENT_DAEMONSETS.map(daemonSet),
  ];
}

export interface AgentPod {
  name: string;
  node: string;
  ready: boolean;
  /** Owner DaemonSet. */
  owner: string;
  uid: string;
  deleting: boolean;
}

interface PodList {
  items: {
    metadata: { name: string; uid: string; deletionTimestamp?: string; ownerReferences?: { kind: string; name: string }[] };
    spec?: { nodeName?: string };
    status?: { conditions?: { type: string; status: string }[] };
  }[];
}

/** The pods of one agent DaemonSet (by its owner reference: the AMD operator's operands share their labels). */
export async function agentPods(kc: KubeConfig, ds: Pick<AgentDaemonSet, 'namespace' | 'name' | 'labels'>): Promise<AgentPod[]> {
  const sel = Object.entries(ds.labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const list = await rawJson<PodList>(kc, {
    method: 'GET',
    path: `/api/v1/namespaces/${ds.namespace}/pods?labelSelector=${encodeURIComponent(sel)}`,
  });
  return list.items
    .map((p) => ({
      name: p.metadata.name,
      uid: p.metadata.uid,
      node: p.spec?.nodeName ?? '',
      ready: p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true,
      owner: p.metadata.ownerReferences?.find((o) => o.kind === 'DaemonSet')?.name ?? '',
      deleting: p.metadata.deletionTimestamp !== undefined,
    }))
    .filter((p) => p.owner === ds.name);
}

export function agentDaemonSet(name: string): AgentDaemonSet {
  const d = AGENT_DAEMONSETS.find((x) => x.name === name);
  if (!d) throw new Error(`no agent DaemonSet ${name}`);
  return d;
}

/** The Ready pod of DaemonSet `name` on `node`, if there is one. */
export async function readyAgentPod(kc: KubeConfig, name: string, node: string): Promise<AgentPod | undefined> {
  return (await agentPods(kc, agentDaemonSet(name))).find((p) => p.node === node && p.ready && !p.deleting);
}

/** Adds (value) or removes (null) node labels. */
export async function labelNode(kc: KubeConfig, node: string, labels: Record<string, string | null>): Promise<void> {
  await rawJson(kc, {
    method: 'PATCH',
    path: `/api/v1/nodes/${node}`,
    body: { metadata: { labels } },
    contentType: 'application/merge-patch+json',
  });
}

interface NodeList {
  items: { metadata: { name: string; labels?: Record<string, string> } }[];
}

/**
 * Installs the agent DaemonSets (the NVIDIA operator's deploy labels first, on the nodes it would write them on) and
 * waits until each has a Ready pod on every node its selector picks.
 */
export async function installNodeAgents(kc: KubeConfig, timeoutMs = 120_000): Promise<void> {
  const listNodes = () => rawJson<NodeList>(kc, { method: 'GET', path: '/api/v1/nodes' });
  for (const n of (await listNodes()).items) {
    if (n.metadata.labels?.['nvidia.com/gpu.present'] === 'true')
      await labelNode(kc, n.metadata.name, Object.fromEntries(NVIDIA_DEPLOY_LABELS.map((l) => [l, 'true'])));
  }
  await apply(kc, nodeAgentManifests());
  const nodes = (await listNodes()).items;
  const deadline = Date.now() + timeoutMs;
  for (const d of AGENT_DAEMONSETS) {
    const want = nodes
      .filter((n) => Object.entries(d.nodeSelector).every(([k, v]) => n.metadata.labels?.[k] === v))
      .map((n) => n.metadata.name);
    for (;;) {
      const pods = await agentPods(kc, d);
      const ready = new Set(pods.filter((p) => p.ready && !p.deleting).map((p) => p.node));
      if (want.every((n) => ready.has(n))) break;
      if (Date.now() > deadline) {
        throw new Error(
          `DaemonSet ${d.namespace}/${d.name}: no Ready pod on ${want.filter((n) => !ready.has(n)).join(', ')} after ${timeoutMs / 1000}s`,
        );
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
