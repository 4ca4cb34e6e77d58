import { type KubeConfig, PatchStrategy } from '@kubernetes/client-node';
import { isoSeconds } from '../../api/time.js';
import { rawJson, RawRequestError } from '../../runtime/rawrequest.js';

/**
 * The part of Kaiwo v0.1.9's behaviour the monitor reads (shared/reference/kaiwo.md §3-4, "Seen live"): the
 * KaiwoQueueConfig `kaiwo` (created from the GPU nodes, synced to ResourceFlavors / ClusterQueue / LocalQueues,
 * status READY or FAILED, no conditions) and KaiwoJobs (a suspended batch Job in the queue; status PENDING /
 * ERROR with Schedulable=False / STARTING / RUNNING / COMPLETE / FAILED; startTime and duration written on
 * transitions; never completionTime or observedGeneration; Events from kaiwojob-controller). Unlike Kaiwo it
 * never deletes Kueue objects it does not list.
 */

const KAIWO = '/apis/kaiwo.silogen.ai/v1alpha1';
const MERGE = 'application/merge-patch+json';
const QC = 'kaiwo';

interface Obj { metadata: { name: string; namespace?: string; uid?: string; labels?: Record<string, string>; annotations?: Record<string, string> } }
interface Node extends Obj { spec?: { unschedulable?: boolean }; status?: { allocatable?: Record<string, string> } }
interface QueueConfig extends Obj {
  spec?: {
    resourceFlavors?: { name: string; nodeLabels?: Record<string, string> }[];
    clusterQueues?: { name: string; namespaces?: string[]; spec?: Record<string, unknown> }[];
  };
  status?: { status?: string };
}
interface Condition { type: string; status: string; reason: string; message: string; lastTransitionTime: string }
interface KaiwoJob extends Obj {
  spec?: { gpus?: number; gpuVendor?: string; image?: string; entrypoint?: string; clusterQueue?: string };
  status?: { status?: string; startTime?: string; conditions?: Condition[] };
}
interface Job extends Obj {
  spec?: { suspend?: boolean };
  status?: { active?: number; ready?: number; failed?: number; conditions?: { type: string; status: string }[] };
}

/** kwok's pod-complete stage: a pod runs between `delay` and `jitter-delay` before it completes. */
export const kwokRunFor = (duration: string): Record<string, string> =>
  ({ 'pod-complete.stage.kwok.x-k8s.io/delay': duration, 'pod-complete.stage.kwok.x-k8s.io/jitter-delay': duration });

/**
 * KaiwoQueueConfig embeds Kueue's v1beta1 ClusterQueue spec (its CRD defaults flavorFungibility.whenCanBorrow to
 * `Borrow`); Kueue >= 0.16 stores v1beta2, where that value is `MayStopSearch` and admissionChecks is gone.
 */
function toV1beta2(spec: Record<string, unknown>): void {
  const f = spec.flavorFungibility as { whenCanBorrow?: string } | undefined;
  if (f?.whenCanBorrow === 'Borrow') f.whenCanBorrow = 'MayStopSearch';
  delete spec.admissionChecks;
}

const TERMINAL = new Set(['COMPLETE', 'FAILED', 'TERMINATED']);

export class KaiwoReconciler {
  /** Spec + nodes last synced: like Kaiwo, the queue config is reconciled on a change (its watches), not polled. */
  private synced = '';

  constructor(private readonly kc: KubeConfig, private readonly kueueVersion: string, private readonly count: (controller: string, ok: boolean, seconds: number) => void) {}

  private req<T>(method: string, path: string, body?: unknown, contentType?: string): Promise<T> {
    return rawJson<T>(this.kc, { method, path, ...(body !== undefined ? { body } : {}), ...(contentType ? { contentType } : {}) });
  }

  private async timed(controller: string, f: () => Promise<void>): Promise<void> {
    const t0 = Date.now();
    try {
      await f();
      this.count(controller, true, (Date.now() - t0) / 1000);
    } catch (err) {
      this.count(controller, false, (Date.now() - t0) / 1000);
      throw err;
    }
  }

  async reconcileAll(): Promise<void> {
    const nodes = (await this.req<{ items: Node[] }>('GET', '/api/v1/nodes')).items;
    await this.timed('kaiwoqueueconfig', () => this.queueConfig(nodes)).catch(() => undefined);
    const jobs = (await this.req<{ items: KaiwoJob[] }>('GET', `${KAIWO}/kaiwojobs`)).items;
    for (const j of jobs) await this.timed('kaiwojob', () => this.kaiwoJob(j, nodes)).catch(() => undefined);
  }

  private kueue(plural: string, namespace?: string): string {
    return `/apis/kueue.x-k8s.io/${this.kueueVersion}${namespace ? `/namespaces/${namespace}` : ''}/${plural}`;
  }

  private async applyKueue(plural: string, kind: string, name: string, spec: unknown, namespace?: string): Promise<void> {
    await this.req('PATCH', `${this.kueue(plural, namespace)}/${name}?fieldManager=kaiwo&force=true`, {
      apiVersion: `kueue.x-k8s.io/${this.kueueVersion}`, kind, metadata: { name, ...(namespace ? { namespace } : {}) }, spec,
    }, PatchStrategy.ServerSideApply);
  }

  /** The default KaiwoQueueConfig from the nodes' kaiwo/nodepool labels (Kaiwo creates it on a Node event). */
  private defaultQueueConfig(nodes: Node[]): QueueConfig {
    const pools = new Map<string, { gpus: Record<string, number> }>();
    for (const n of nodes) {
      const pool = n.metadata.labels?.['kaiwo/nodepool'];
      if (!pool || n.spec?.unschedulable) continue;
      const p = pools.get(pool) ?? { gpus: {} };
      for (const r of ['amd.com/gpu', 'nvidia.com/gpu']) p.gpus[r] = (p.gpus[r] ?? 0) + Number(n.status?.allocatable?.[r] ?? 0);
      pools.set(pool, p);
    }
    const covered = ['cpu', 'memory', 'amd.com/gpu', 'nvidia.com/gpu'];
    return {
      apiVersion: 'kaiwo.silogen.ai/v1alpha1', kind: 'KaiwoQueueConfig', metadata: { name: QC },
      spec: {
        resourceFlavors: [...pools.keys()].map((name) => ({ name, nodeLabels: { 'kaiwo/nodepool': name } })),
        clusterQueues: [{
          name: 'kaiwo', namespaces: [],
          spec: {
            namespaceSelector: {},
            resourceGroups: [{
              coveredResources: covered,
              flavors: [...pools].map(([name, p]) => ({
                name, resources: [{ name: 'cpu', nominalQuota: '1000' }, { name: 'memory', nominalQuota: '8Ti' },
                  { name: 'amd.com/gpu', nominalQuota: String(p.gpus['amd.com/gpu'] ?? 0) }, { name: 'nvidia.com/gpu', nominalQuota: String(p.gpus['nvidia.com/gpu'] ?? 0) }],
              })),
            }],
          },
        }],
      },
    } as QueueConfig;
  }

  private async queueConfig(nodes: Node[]): Promise<void> {
    let qc: QueueConfig;
    try {
      qc = await this.req<QueueConfig>('GET', `${KAIWO}/kaiwoqueueconfigs/${QC}`);
    } catch (err) {
      if (!(err instanceof RawRequestError) || err.status !== 404) throw err;
      qc = await this.req<QueueConfig>('POST', `${KAIWO}/kaiwoqueueconfigs`, this.defaultQueueConfig(nodes));
    }
    const key = JSON.stringify([qc.metadata.uid, qc.spec, nodes.map((n) => [n.metadata.name, n.spec?.unschedulable, n.metadata.labels?.['kaiwo/nodepool']])]);
    if (key === this.synced) return;
    this.synced = key;
    let status = 'READY';
    try {
      for (const f of qc.spec?.resourceFlavors ?? []) await this.applyKueue('resourceflavors', 'ResourceFlavor', f.name, { nodeLabels: f.nodeLabels ?? {} });
      for (const cq of qc.spec?.clusterQueues ?? []) {
        const { cohort: _cohort, ...spec } = cq.spec ?? {};
        if (this.kueueVersion === 'v1beta2') toV1beta2(spec);
        await this.applyKueue('clusterqueues', 'ClusterQueue', cq.name, spec);
        for (const ns of cq.namespaces ?? []) await this.applyKueue('localqueues', 'LocalQueue', cq.name, { clusterQueue: cq.name }, ns);
      }
    } catch (err) {
      status = 'FAILED';
      if (qc.status?.status !== status) await this.event(qc, 'Warning', 'KaiwoQueueConfigSyncFailed', (err as Error).message, 'kaiwoqueueconfig-controller');
    }
    if (qc.status?.status !== status) await this.req('PATCH', `${KAIWO}/kaiwoqueueconfigs/${QC}/status`, { status: { status } }, MERGE);
    if (status === 'FAILED') throw new Error('KaiwoQueueConfig sync failed');
  }

  private async event(o: Obj & { apiVersion?: string; kind?: string }, type: string, reason: string, message: string, component: string): Promise<void> {
    const now = isoSeconds(new Date());
    const ns = o.metadata.namespace ?? 'default';
    await this.req('POST', `/api/v1/namespaces/${ns}/events`, {
      metadata: { generateName: `${o.metadata.name}.`, namespace: ns },
      involvedObject: { apiVersion: 'kaiwo.silogen.ai/v1alpha1', kind: o.kind ?? 'KaiwoJob', name: o.metadata.name, namespace: o.metadata.namespace, uid: o.metadata.uid },
      reason, message: message.slice(0, 1024), type, source: { component }, firstTimestamp: now, lastTimestamp: now, count: 1,
    }).catch(() => undefined);
  }

  private async kaiwoJob(kj: KaiwoJob, nodes: Node[]): Promise<void> {
    const current = kj.status?.status ?? '';
    if (TERMINAL.has(current)) return;
    const ns = kj.metadata.namespace ?? 'default';
    const resource = (kj.spec?.gpuVendor ?? 'amd') === 'nvidia' ? 'nvidia.com/gpu' : 'amd.com/gpu';
    const gpus = kj.spec?.gpus ?? 0;
    const clusterGpus = nodes.filter((n) => n.metadata.labels?.['kaiwo/nodepool'] && !n.spec?.unschedulable)
      .reduce((s, n) => s + Number(n.status?.allocatable?.[resource] ?? 0), 0);
    const now = new Date();
    const keep = (type: string, status: string, reason: string, message: string): Condition => {
      const old = kj.status?.conditions?.find((c) => c.type === type);
      return { type, status, reason, message, lastTransitionTime: old?.status === status ? old.lastTransitionTime : isoSeconds(now) };
    };
    if (gpus > clusterGpus) {
      if (current !== 'ERROR') {
        await this.writeStatus(kj, 'ERROR', [keep('Schedulable', 'False', 'InsufficientGPUs', `Insufficient GPUs: requested ${gpus} ${resource}, cluster has ${clusterGpus}`)]);
      }
      return;
    }
    const queue = kj.spec?.clusterQueue ?? 'kaiwo';
    const job = await this.ensureJob(kj, resource, gpus, queue);
    const js = job.status ?? {};
    const cond = (t: string) => js.conditions?.some((c) => c.type === t && c.status === 'True') === true;
    const next = cond('Complete') || cond('SuccessCriteriaMet') ? 'COMPLETE'
      : cond('Failed') || (js.failed ?? 0) > 0 ? 'FAILED'
        : job.spec?.suspend ? 'PENDING' : (js.ready ?? 0) > 0 ? 'RUNNING' : (js.active ?? 0) > 0 ? 'STARTING' : current || 'PENDING';
    if (next === current) return;
    const schedulable = keep('Schedulable', 'True', 'Schedulable', `Cluster has ${clusterGpus} ${resource}`);
    const admitted = job.spec?.suspend
      ? keep('Admitted', 'False', 'Pending', `Workload is pending admission into '${queue}'`)
      : keep('Admitted', 'True', 'Admitted', 'Workload admitted');
    const started = next === 'RUNNING' && !kj.status?.startTime ? now : kj.status?.startTime ? new Date(kj.status.startTime) : undefined;
    await this.writeStatus(kj, next, [schedulable, admitted], started, now);
    const events: Record<string, [string, string]> = {
      PENDING: ['Normal', 'WorkloadPending'], STARTING: ['Normal', 'WorkloadStarting'], RUNNING: ['Normal', 'WorkloadRunning'],
      COMPLETE: ['Normal', 'WorkloadComplete'], FAILED: ['Warning', 'WorkloadFailed'],
    };
    const [type, reason] = events[next] ?? ['Normal', 'WorkloadUpdated'];
    await this.event({ ...kj, kind: 'KaiwoJob' }, type, reason, `KaiwoJob ${ns}/${kj.metadata.name} is ${next}`, 'kaiwojob-controller');
  }

  private async writeStatus(kj: KaiwoJob, status: string, conditions: Condition[], started?: Date, now = new Date()): Promise<void> {
    const path = `${KAIWO}/namespaces/${kj.metadata.namespace ?? 'default'}/kaiwojobs/${kj.metadata.name}/status`;
    await this.req('PATCH', path, {
      status: {
        status, conditions,
        ...(started ? { startTime: isoSeconds(started), duration: Math.max(0, Math.floor((now.getTime() - started.getTime()) / 1000)) } : {}),
      },
    }, MERGE);
  }

  /** Kaiwo's child batch Job: suspended, in the queue, owned by the KaiwoJob, scheduled by kaiwo-scheduler. */
  private async ensureJob(kj: KaiwoJob, resource: string, gpus: number, queue: string): Promise<Job> {
    const ns = kj.metadata.namespace ?? 'default';
    const path = `/apis/batch/v1/namespaces/${ns}/jobs`;
    try {
      return await this.req<Job>('GET', `${path}/${kj.metadata.name}`);
    } catch (err) {
      if (!(err instanceof RawRequestError) || err.status !== 404) throw err;
    }
    // Kaiwo creates the LocalQueue on demand in the workload's namespace.
    await this.applyKueue('localqueues', 'LocalQueue', queue, { clusterQueue: queue }, ns);
    const labels = {
      'kueue.x-k8s.io/queue-name': queue, 'kaiwo.silogen.ai/name': kj.metadata.name, 'kaiwo.silogen.ai/type': 'job',
      'kaiwo.silogen.ai/run-id': kj.metadata.uid ?? '', 'kaiwo.silogen.ai/managed': 'true',
    };
    // Test-bed plumbing: how long kwok keeps the pod running before it completes.
    const runFor = kj.metadata.annotations?.['kaiwo-monitor.dev/run-duration'];
    return this.req<Job>('POST', path, {
      apiVersion: 'batch/v1', kind: 'Job',
      metadata: {
        name: kj.metadata.name, namespace: ns, labels,
        ownerReferences: [{ apiVersion: 'kaiwo.silogen.ai/v1alpha1', kind: 'KaiwoJob', name: kj.metadata.name, uid: kj.metadata.uid, controller: true, blockOwnerDeletion: true }],
      },
      spec: {
        suspend: true, backoffLimit: 0,
        template: {
          metadata: { labels, ...(runFor ? { annotations: kwokRunFor(runFor) } : {}) },
          spec: {
            restartPolicy: 'Never', schedulerName: 'kaiwo-scheduler',
            containers: [{
              name: 'workload', image: kj.spec?.image ?? 'ghcr.io/silogen/rocm-ray:v0.9', command: ['sh', '-c', kj.spec?.entrypoint ?? 'sleep 1'],
              resources: { requests: { cpu: String(4 * gpus || 1), memory: `${32 * gpus || 1}Gi`, [resource]: String(gpus) }, limits: { [resource]: String(gpus) } },
            }],
          },
        },
      },
    });
  }
}
