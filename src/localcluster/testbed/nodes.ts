import type { KubeConfig } from '@kubernetes/client-node';
import { microTime } from '../../api/time.js';
import { HttpStatusError } from '../../runtime/http.js';
import { rawJson } from '../../runtime/rawrequest.js';
import { KWOK_NODE_ANNOTATION } from './kwok.js';

const MERGE = 'application/merge-patch+json';

export interface FakeNode {
  name: string;
  /** Extended GPU resource, or undefined for the CPU node that runs the controllers' pods. */
  gpuResource?: 'amd.com/gpu' | 'nvidia.com/gpu';
  gpus: number;
  labels: Record<string, string>;
}

/**
 * Node labels as the AMD node labeller / NVIDIA GPU feature discovery write them (shared/reference/gpu-signals.md).
 * Kaiwo's own labels (kaiwo/nodepool, kaiwo/worker, kaiwo/gpu-model, topology) are Kaiwo's to write (kaiwo.md §9).
 */
function amdNode(name: string, gpus: number): FakeNode {
  return {
    name,
    gpuResource: 'amd.com/gpu',
    gpus,
    labels: {
      'feature.node.kubernetes.io/amd-gpu': 'true',
      'amd.com/gpu.product-name': 'AMD_Instinct_MI300X_OAM',
      'amd.com/gpu.family': 'AI',
      'amd.com/gpu.device-id': '74a1',
      'amd.com/gpu.vram': '192G',
      [`beta.amd.com/gpu.family.AI`]: String(gpus),
    },
  };
}

function nvidiaNode(name: string, gpus: number): FakeNode {
  return {
    name,
    gpuResource: 'nvidia.com/gpu',
    gpus,
    labels: {
      'nvidia.com/gpu.present': 'true',
      'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3',
      'nvidia.com/gpu.count': String(gpus),
      'nvidia.com/gpu.memory': '81559',
      'nvidia.com/gpu.family': 'hopper',
    },
  };
}

/** An 8-GPU AMD MI300X node (what the AMD node labeller writes); `extraLabels` e.g. a control-plane role. */
export function mi300xNode(name: string, extraLabels: Record<string, string> = {}): FakeNode {
  const n = amdNode(name, 8);
  return { ...n, labels: { ...n.labels, ...extraLabels } };
}

/** Two AMD MI300X nodes, one NVIDIA H100 node (8 GPUs each) and a CPU node for the controllers. */
export function defaultNodes(): FakeNode[] {
  return [
    { name: 'cpu-0', gpus: 0, labels: { 'node-role.kubernetes.io/system': '' } },
    amdNode('mi300x-0', 8),
    amdNode('mi300x-1', 8),
    nvidiaNode('h100-0', 8),
  ];
}

/** Nodes as a cloud provider or kubelet registers them; kwok then runs their status, heartbeat and pods. */
export class FakeNodes {
  constructor(
    private readonly kc: KubeConfig,
    readonly nodes: FakeNode[] = defaultNodes(),
  ) {}

  private capacity(n: FakeNode, gpus = n.gpus): Record<string, string> {
    return {
      cpu: '96',
      memory: '1000Gi',
      pods: '110',
      'ephemeral-storage': '2Ti',
      ...(n.gpuResource ? { [n.gpuResource]: String(gpus) } : {}),
    };
  }

  /** A node joins the cluster later (kwok runs it like the others); `remove` deletes it again. */
  async add(n: FakeNode): Promise<void> {
    this.nodes.push(n);
    await this.create([n]);
  }

  async remove(name: string): Promise<void> {
    const i = this.nodes.findIndex((n) => n.name === name);
    if (i >= 0) this.nodes.splice(i, 1);
    await rawJson(this.kc, { method: 'DELETE', path: `/api/v1/nodes/${name}` }).catch((err: unknown) => {
      if (!(err instanceof HttpStatusError) || err.status !== 404) throw err;
    });
  }

  async create(nodes: FakeNode[] = this.nodes): Promise<void> {
    for (const n of nodes) {
      const body = {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: {
          name: n.name,
          annotations: { [KWOK_NODE_ANNOTATION]: 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
          labels: {
            'kubernetes.io/hostname': n.name,
            'kubernetes.io/os': 'linux',
            'kubernetes.io/arch': 'amd64',
            type: 'kwok',
            ...n.labels,
          },
        },
        status: { capacity: this.capacity(n), allocatable: this.capacity(n) },
      };
      try {
        await rawJson(this.kc, { method: 'POST', path: '/api/v1/nodes', body });
      } catch (err) {
        if (!(err instanceof HttpStatusError) || err.status !== 409) throw err;
      }
    }
  }

  get(name: string): FakeNode {
    const n = this.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no test-bed node ${name}`);
    return n;
  }

  /**
   * Stops (or resumes) the node's heartbeat. kwok renews a node Lease only while it holds it and retries every
   * renew interval otherwise: stopping hands the Lease to a holder that never renews (like a kubelet that hung),
   * so kube-controller-manager sees no renewal and marks the node NotReady after its grace period; resuming
   * lets the Lease expire, kwok takes it back at its next try and its node-initialize stage reports Ready again.
   */
  async setHeartbeat(name: string, on: boolean): Promise<void> {
    const spec = on
      ? { holderIdentity: 'kubelet-stopped', leaseDurationSeconds: 1, renewTime: microTime(new Date(Date.now() - 60_000)) }
      : { holderIdentity: 'kubelet-stopped', leaseDurationSeconds: 3600, renewTime: microTime(new Date()) };
    await rawJson(this.kc, {
      method: 'PATCH',
      path: `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${name}`,
      body: { spec },
      contentType: MERGE,
    });
  }

  /** What a device plugin reporting unhealthy GPUs does through kubelet: allocatable below capacity. */
  async setAllocatableGpus(name: string, gpus: number): Promise<void> {
    const n = this.get(name);
    await rawJson(this.kc, {
      method: 'PATCH',
      path: `/api/v1/nodes/${name}/status`,
      body: { status: { allocatable: this.capacity(n, gpus) } },
      contentType: MERGE,
    });
  }

  /** kubectl cordon / uncordon. */
  async setCordoned(name: string, cordoned: boolean): Promise<void> {
    await rawJson(this.kc, {
      method: 'PATCH',
      path: `/api/v1/nodes/${name}`,
      body: { spec: { unschedulable: cordoned ? true : null } },
      contentType: MERGE,
    });
  }

  /** Resolves once every node reports Ready=True (kwok's node-initialize stage). */
  async waitReady(timeoutMs = 60_000, names = this.nodes.map((n) => n.name)): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const list = await rawJson<{ items: { metadata: { name: string }; status?: { conditions?: { type: string; status: string }[] } }[] }>(
        this.kc,
        { method: 'GET', path: '/api/v1/nodes' },
      );
      const ready = new Set(
        list.items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).map((n) => n.metadata.name),
      );
      if (names.every((n) => ready.has(n))) return;
      if (Date.now() > deadline)
        throw new Error(`nodes not Ready after ${timeoutMs / 1000}s: ${names.filter((n) => !ready.has(n)).join(', ')}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
