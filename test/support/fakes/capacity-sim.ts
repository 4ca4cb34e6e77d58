import type { KubeConfig } from '@kubernetes/client-node';
import { isoSeconds } from '../../../src/api/time.js';
import { HttpStatusError } from '../../../src/runtime/http.js';
import { rawJson } from '../../../src/runtime/rawrequest.js';

/**
 * A GPU pool as Kueue sees it, on a bare API server: labelled GPU nodes, a ResourceFlavor selecting them, a
 * ClusterQueue with a GPU quota, a LocalQueue, and Workloads whose status (QuotaReserved, admission) and the
 * ClusterQueue's flavorsReservation are written the way Kueue writes them. Everything is named and labelled after
 * `id`, so a KaiwoMonitor can be scoped to it (capacitySpec) and pools of different tests never mix. Used by the
 * capacity integration tests and `make demo SIM=1` ("why is it pending?").
 */
export const POOL_LABEL = 'kaiwo-monitor.dev/pool';
const MERGE = 'application/merge-patch+json';
const KUEUE = '/apis/kueue.x-k8s.io/v1beta2';

export interface PoolOptions {
  nodes?: number;
  gpusPerNode?: number;
  resource?: string;
  /** ClusterQueue nominal quota (default: every GPU of the pool). */
  quota?: number;
  borrowingLimit?: number;
}

export class GpuPool {
  readonly cq: string;
  readonly flavor: string;
  readonly ns: string;
  readonly nodes: string[];
  readonly gpusPerNode: number;
  readonly resource: string;
  readonly quota: number;
  private readonly reserved = new Map<string, number>();
  private readonly pending = new Set<string>();

  constructor(
    private readonly kc: KubeConfig,
    readonly id: string,
    private readonly opts: PoolOptions = {},
  ) {
    this.cq = `pool-${id}`;
    this.flavor = `gpu-${id}`;
    this.ns = `pool-${id}`;
    this.gpusPerNode = opts.gpusPerNode ?? 8;
    this.resource = opts.resource ?? 'amd.com/gpu';
    this.nodes = Array.from({ length: opts.nodes ?? 2 }, (_, i) => `gpu-${id}-${i}`);
    this.quota = opts.quota ?? this.nodes.length * this.gpusPerNode;
  }

  /** The capacity section of a KaiwoMonitor spec scoped to this pool. */
  capacitySpec(extra: Record<string, unknown> = {}): Record<string, unknown> {
    const sel = { matchLabels: { [POOL_LABEL]: this.id } };
    return { clusterQueueSelector: sel, workloadNamespaceSelector: sel, nodeSelector: sel, ...extra };
  }

  private req<T>(method: string, path: string, body?: unknown, contentType?: string): Promise<T> {
    return rawJson<T>(this.kc, { method, path, ...(body !== undefined ? { body } : {}), ...(contentType ? { contentType } : {}) });
  }

  private async create(path: string, body: unknown): Promise<void> {
    try {
      await this.req('POST', path, body);
    } catch (err) {
      if (!(err instanceof HttpStatusError) || err.status !== 409) throw err;
    }
  }

  async install(): Promise<void> {
    const labels = { [POOL_LABEL]: this.id };
    await this.create('/api/v1/namespaces', { metadata: { name: this.ns, labels } });
    for (const n of this.nodes) {
      await this.create('/api/v1/nodes', { metadata: { name: n, labels: { ...labels, 'kubernetes.io/hostname': n } } });
      await this.setNode(n, { ready: true });
    }
    await this.create(`${KUEUE}/resourceflavors`, {
      apiVersion: 'kueue.x-k8s.io/v1beta2',
      kind: 'ResourceFlavor',
      metadata: { name: this.flavor },
      spec: { nodeLabels: labels },
    });
    const quota = {
      name: this.resource,
      nominalQuota: this.quota,
      ...(this.opts.borrowingLimit !== undefined ? { borrowingLimit: this.opts.borrowingLimit } : {}),
    };
    await this.create(`${KUEUE}/clusterqueues`, {
      apiVersion: 'kueue.x-k8s.io/v1beta2',
      kind: 'ClusterQueue',
      metadata: { name: this.cq, labels },
      spec: {
        namespaceSelector: {},
        resourceGroups: [{ coveredResources: [this.resource], flavors: [{ name: this.flavor, resources: [quota] }] }],
      },
    });
    await this.create(`${KUEUE}/namespaces/${this.ns}/localqueues`, {
      apiVersion: 'kueue.x-k8s.io/v1beta2',
      kind: 'LocalQueue',
      metadata: { name: 'team', namespace: this.ns },
      spec: { clusterQueue: this.cq },
    });
    await this.writeQueueStatus();
  }

  /** A GPU node's readiness and healthy GPUs (allocatable; capacity stays gpusPerNode); labels merged. */
  async setNode(name: string, s: { ready: boolean; allocatable?: number; labels?: Record<string, string | null> }): Promise<void> {
    if (s.labels) await this.req('PATCH', `/api/v1/nodes/${name}`, { metadata: { labels: s.labels } }, MERGE);
    const g = String(this.gpusPerNode);
    await this.req(
      'PATCH',
      `/api/v1/nodes/${name}/status`,
      {
        status: {
          capacity: { cpu: '96', memory: '1Ti', pods: '110', [this.resource]: g },
          allocatable: { cpu: '96', memory: '1Ti', pods: '110', [this.resource]: String(s.allocatable ?? this.gpusPerNode) },
          conditions: [
            s.ready
              ? {
                  type: 'Ready',
                  status: 'True',
                  reason: 'KubeletReady',
                  message: 'kubelet is posting ready status',
                  lastTransitionTime: isoSeconds(new Date()),
                }
              : {
                  type: 'Ready',
                  status: 'False',
                  reason: 'KubeletNotReady',
                  message: 'container runtime is down',
                  lastTransitionTime: isoSeconds(new Date()),
                },
          ],
        },
      },
      MERGE,
    );
  }

  /**
   * A Workload of `pods` pods with `gpusPerPod` each. Admitted: QuotaReserved=True and its GPUs added to the
   * ClusterQueue's flavorsReservation (as Kueue does); else pending with Kueue's reason and message.
   */
  async workload(
    name: string,
    o: { pods?: number; gpusPerPod?: number; admitted?: boolean; reason?: string; message?: string } = {},
  ): Promise<void> {
    const pods = o.pods ?? 1;
    const per = o.gpusPerPod ?? this.gpusPerNode;
    const path = `${KUEUE}/namespaces/${this.ns}/workloads`;
    await this.create(path, {
      apiVersion: 'kueue.x-k8s.io/v1beta2',
      kind: 'Workload',
      metadata: { name, namespace: this.ns },
      spec: {
        queueName: 'team',
        podSets: [
          {
            name: 'main',
            count: pods,
            template: {
              spec: {
                restartPolicy: 'Never',
                containers: [
                  {
                    name: 'train',
                    image: 'rocm/pytorch',
                    resources: { requests: { [this.resource]: String(per) }, limits: { [this.resource]: String(per) } },
                  },
                ],
              },
            },
          },
        ],
      },
    });
    const now = isoSeconds(new Date());
    const status = o.admitted
      ? {
          conditions: [
            {
              type: 'QuotaReserved',
              status: 'True',
              reason: 'QuotaReserved',
              message: `Quota reserved in ClusterQueue ${this.cq}`,
              lastTransitionTime: now,
            },
          ],
          admission: {
            clusterQueue: this.cq,
            podSetAssignments: [
              {
                name: 'main',
                count: pods,
                flavors: { [this.resource]: this.flavor },
                resourceUsage: { [this.resource]: String(pods * per) },
              },
            ],
          },
        }
      : {
          conditions: [
            {
              type: 'QuotaReserved',
              status: 'False',
              reason: o.reason ?? 'WaitingForQuota',
              lastTransitionTime: now,
              message:
                o.message ??
                `couldn't assign flavors to pod set main: insufficient unused quota for ${this.resource} in flavor ${this.flavor}, ${pods * per} more needed`,
            },
          ],
        };
    await this.req('PATCH', `${path}/${name}/status`, { status }, MERGE);
    if (o.admitted) this.reserved.set(name, pods * per);
    else this.pending.add(name);
    await this.writeQueueStatus();
  }

  /**
   * The pod of an admitted Workload that the scheduler cannot place: the flavor's nodeLabels in its nodeSelector (as
   * Kueue injects them), its GPU request, and PodScheduled=False/Unschedulable with the scheduler's message. Its
   * schedulerName is one no scheduler serves, so nothing else writes its status on a bare API server.
   */
  async unschedulablePod(name: string, gpus = this.gpusPerNode): Promise<void> {
    await this.create(`/api/v1/namespaces/${this.ns}/pods`, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: this.ns },
      spec: {
        schedulerName: 'kaiwo-monitor-test-unscheduled',
        nodeSelector: { [POOL_LABEL]: this.id },
        restartPolicy: 'Never',
        containers: [
          {
            name: 'train',
            image: 'rocm/pytorch',
            resources: { requests: { [this.resource]: String(gpus) }, limits: { [this.resource]: String(gpus) } },
          },
        ],
      },
    });
    await this.req(
      'PATCH',
      `/api/v1/namespaces/${this.ns}/pods/${name}/status`,
      {
        status: {
          phase: 'Pending',
          conditions: [
            {
              type: 'PodScheduled',
              status: 'False',
              reason: 'Unschedulable',
              lastTransitionTime: isoSeconds(new Date()),
              message: `0/${this.nodes.length} nodes are available: ${this.nodes.length} Insufficient ${this.resource}.`,
            },
          ],
        },
      },
      MERGE,
    );
  }

  async deleteWorkload(name: string): Promise<void> {
    await this.req('DELETE', `${KUEUE}/namespaces/${this.ns}/workloads/${name}`).catch(() => undefined);
    if (this.reserved.delete(name) || this.pending.delete(name)) await this.writeQueueStatus();
  }

  /** The ClusterQueue's status as Kueue keeps it: Active, reservation/usage of the admitted Workloads, counts. */
  private async writeQueueStatus(): Promise<void> {
    const total = [...this.reserved.values()].reduce((a, b) => a + b, 0);
    const usage = [
      { name: this.flavor, resources: [{ name: this.resource, total: String(total), borrowed: String(Math.max(0, total - this.quota)) }] },
    ];
    await this.req(
      'PATCH',
      `${KUEUE}/clusterqueues/${this.cq}/status`,
      {
        status: {
          flavorsReservation: usage,
          flavorsUsage: usage,
          admittedWorkloads: this.reserved.size,
          reservingWorkloads: this.reserved.size,
          pendingWorkloads: this.pending.size,
          conditions: [
            {
              type: 'Active',
              status: 'True',
              reason: 'Ready',
              message: 'Can admit new workloads',
              lastTransitionTime: isoSeconds(new Date()),
            },
          ],
        },
      },
      MERGE,
    );
  }

  /** Removes everything the pool created. */
  async uninstall(): Promise<void> {
    const del = (p: string) => this.req('DELETE', p).catch(() => undefined);
    // Namespaces never finish deleting without kube-controller-manager: delete what is in it first.
    await del(`${KUEUE}/namespaces/${this.ns}/workloads`);
    await del(`${KUEUE}/namespaces/${this.ns}/localqueues`);
    await del(`/api/v1/namespaces/${this.ns}`);
    await del(`${KUEUE}/clusterqueues/${this.cq}`);
    await del(`${KUEUE}/resourceflavors/${this.flavor}`);
    for (const n of this.nodes) await del(`/api/v1/nodes/${n}`);
  }
}
