import type { KubeConfig } from '@kubernetes/client-node';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { isoSeconds, microTime } from '../../../src/api/time.js';
import { createLogger } from '../../../src/runtime/log.js';
import { startMetricsServer } from '../../../src/runtime/serving.js';
import { HttpStatusError } from '../../../src/runtime/http.js';
import { rawJson } from '../../../src/runtime/rawrequest.js';

/**
 * A simulated Kaiwo/Kueue/GPU cluster on a bare API server (no kubelet, no controllers): the objects a real
 * install has, with statuses written directly, so faults can be injected and healed with one status write.
 * Used by the fault-scenario tests, the detection benchmark and `make demo SIM=1`.
 */
export interface SimOptions {
  /** Label put on the sim's ClusterQueue and workload namespace, so a monitor can be scoped to them. */
  label?: string;
  workloadNamespace?: string;
  amdNodes?: number;
  nvidiaNodes?: number;
  gpusPerNode?: number;
  /** leaseDurationSeconds of the simulated leader Leases (renewed every second while healthy). */
  leaseDurationSeconds?: number;
}

const MERGE = 'application/merge-patch+json';
export const SIM_LABEL = 'kaiwo-monitor.dev/sim';

export class SimulatedStack {
  readonly label: string;
  readonly ns: string;
  readonly nodes: { name: string; resource: string }[] = [];
  readonly gpusPerNode: number;
  readonly leaseDurationSeconds: number;
  private renewals = new Map<string, NodeJS.Timeout>();
  /** Current controller pod per Deployment ("namespace/name"). */
  private readonly pods = new Map<string, string>();
  /** Per KaiwoJob: when Kaiwo admitted it (its conditions' time) and when it started RUNNING. */
  private readonly jobs = new Map<string, { admitted: string; started?: Date }>();
  /** ClusterQueue of this simulation (one per label, so simulations do not share it). */
  readonly cq: string;

  constructor(
    private readonly kc: KubeConfig,
    opts: SimOptions = {},
  ) {
    this.label = opts.label ?? 'sim';
    this.ns = opts.workloadNamespace ?? 'ml-sim';
    this.gpusPerNode = opts.gpusPerNode ?? 8;
    this.leaseDurationSeconds = opts.leaseDurationSeconds ?? 15;
    this.cq = `kaiwo-${this.label}`;
    for (let i = 0; i < (opts.amdNodes ?? 2); i++) this.nodes.push({ name: `mi300x-${i}`, resource: 'amd.com/gpu' });
    for (let i = 0; i < (opts.nvidiaNodes ?? 1); i++) this.nodes.push({ name: `h100-${i}`, resource: 'nvidia.com/gpu' });
  }

  /** A KaiwoMonitor spec scoped to this simulation (defaults otherwise). */
  monitorSpec(extra: Record<string, unknown> = {}): Record<string, unknown> {
    const sel = { matchLabels: { [SIM_LABEL]: this.label } };
    const kueue = { clusterQueueSelector: sel, localQueueNamespaceSelector: sel, ...(extra.kueue as object | undefined) };
    const workloads = { namespaceSelector: sel, ...(extra.workloads as object | undefined) };
    return { ...extra, kueue, workloads };
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

  private status(path: string, status: unknown): Promise<unknown> {
    return this.req('PATCH', `${path}/status`, { status }, MERGE);
  }

  async install(): Promise<void> {
    const labels = { [SIM_LABEL]: this.label };
    for (const ns of ['kaiwo-system', 'kueue-system', this.ns]) {
      await this.create('/api/v1/namespaces', { metadata: { name: ns, labels: ns === this.ns ? labels : {} } });
    }
    await this.deployment('kaiwo-system', 'kaiwo-controller-manager', { 'control-plane': 'kaiwo-controller-manager' });
    await this.deployment('kube-system', 'kaiwo-scheduler', { component: 'scheduler' });
    await this.deployment('kueue-system', 'kueue-controller-manager', { 'control-plane': 'controller-manager' });
    await this.lease('kaiwo-system', '83fc2279.silogen.ai');
    await this.lease('kueue-system', 'c1f6bfd2.kueue.x-k8s.io');
    this.renew('kaiwo-system', '83fc2279.silogen.ai');
    this.renew('kueue-system', 'c1f6bfd2.kueue.x-k8s.io');

    await this.create('/apis/kaiwo.silogen.ai/v1alpha1/kaiwoqueueconfigs', {
      apiVersion: 'kaiwo.silogen.ai/v1alpha1',
      kind: 'KaiwoQueueConfig',
      metadata: { name: 'kaiwo' },
      spec: {},
    });
    await this.status('/apis/kaiwo.silogen.ai/v1alpha1/kaiwoqueueconfigs/kaiwo', { status: 'READY' });

    const total = this.nodes.length * this.gpusPerNode;
    await this.create('/apis/kueue.x-k8s.io/v1beta2/clusterqueues', {
      apiVersion: 'kueue.x-k8s.io/v1beta2',
      kind: 'ClusterQueue',
      metadata: { name: this.cq, labels },
      spec: {
        namespaceSelector: {},
        resourceGroups: [
          {
            coveredResources: ['amd.com/gpu', 'nvidia.com/gpu'],
            flavors: [
              {
                name: 'gpu',
                resources: [
                  { name: 'amd.com/gpu', nominalQuota: total },
                  { name: 'nvidia.com/gpu', nominalQuota: total },
                ],
              },
            ],
          },
        ],
      },
    });
    await this.setClusterQueueActive(true);
    await this.create(`/apis/kueue.x-k8s.io/v1beta2/namespaces/${this.ns}/localqueues`, {
      apiVersion: 'kueue.x-k8s.io/v1beta2',
      kind: 'LocalQueue',
      metadata: { name: 'kaiwo', namespace: this.ns },
      spec: { clusterQueue: this.cq },
    });
    await this.status(`/apis/kueue.x-k8s.io/v1beta2/namespaces/${this.ns}/localqueues/kaiwo`, {
      conditions: [cond('Active', 'True', 'Ready', 'Can submit new workloads to localQueue')],
    });

    for (const n of this.nodes) {
      await this.create('/api/v1/nodes', {
        metadata: {
          name: n.name,
          labels: {
            'kubernetes.io/hostname': n.name,
            ...(n.resource === 'amd.com/gpu' ? { 'feature.node.kubernetes.io/amd-gpu': 'true' } : { 'nvidia.com/gpu.present': 'true' }),
          },
        },
      });
      await this.setNode(n.name, { ready: true, allocatable: this.gpusPerNode });
    }
    for (const name of ['train-llama', 'finetune-mistral']) await this.kaiwoJob(name, 'RUNNING');
  }

  private async deployment(namespace: string, name: string, podLabels: Record<string, string>): Promise<void> {
    await this.create(`/apis/apps/v1/namespaces/${namespace}/deployments`, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace },
      spec: {
        replicas: 1,
        selector: { matchLabels: podLabels },
        template: { metadata: { labels: podLabels }, spec: { containers: [{ name: 'manager', image: 'example.invalid/manager:v1' }] } },
      },
    });
    await this.setDeploymentAvailable(namespace, name, 1);
    const key = `${namespace}/${name}`;
    if (!this.pods.has(key)) {
      const pod = `${name}-${this.label}-0`;
      await this.pod(namespace, pod, podLabels, true);
      this.pods.set(key, pod);
    }
  }

  /** A controller pod (no node: the API server deletes it at once). Running, and Ready when `ready`. */
  private async pod(namespace: string, name: string, labels: Record<string, string>, ready: boolean): Promise<void> {
    await this.create(`/api/v1/namespaces/${namespace}/pods`, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace, labels },
      spec: { containers: [{ name: 'manager', image: 'example.invalid/manager:v1' }] },
    });
    await this.setPodReady(namespace, name, ready);
  }

  private setPodReady(namespace: string, name: string, ready: boolean): Promise<unknown> {
    const s = ready ? 'True' : 'False';
    return this.status(`/api/v1/namespaces/${namespace}/pods/${name}`, {
      phase: 'Running',
      startTime: isoSeconds(new Date()),
      conditions: [
        cond('PodScheduled', 'True', 'Scheduled', ''),
        cond('ContainersReady', s, ready ? 'Ready' : 'ContainersNotReady', ''),
        cond('Ready', s, ready ? 'Ready' : 'ContainersNotReady', ''),
      ],
      containerStatuses: [
        {
          name: 'manager',
          image: 'example.invalid/manager:v1',
          imageID: '',
          ready,
          restartCount: 0,
          started: true,
          state: { running: { startedAt: isoSeconds(new Date()) } },
        },
      ],
    });
  }

  /**
   * A rolling restart of a controller Deployment the way a real controller-runtime operator (Kaiwo, Kueue) goes
   * through it (RollingUpdate, maxSurge 1, maxUnavailable 0; leader election without ReleaseOnCancel): a new pod
   * starts and becomes Ready while the old one still leads; the old pod is deleted and stops renewing the Lease
   * without handing it back; the new pod, retrying every 2 s, takes the Lease only once it has expired
   * (renewTime + leaseDurationSeconds, ≈ 17 s with the default 15 s). The Deployment never has 0 available
   * replicas. Metrics counters restart from 0 (a new process). Resolves when the new leader holds the Lease.
   */
  async rollingRestart(target: 'kaiwo' | 'kueue'): Promise<{ lastRenew: Date; acquired: Date }> {
    const [namespace, name, lease, labels] =
      target === 'kaiwo'
        ? ['kaiwo-system', 'kaiwo-controller-manager', '83fc2279.silogen.ai', { 'control-plane': 'kaiwo-controller-manager' }]
        : ['kueue-system', 'kueue-controller-manager', 'c1f6bfd2.kueue.x-k8s.io', { 'control-plane': 'controller-manager' }];
    const path = `/apis/apps/v1/namespaces/${namespace}/deployments/${name}`;
    const d = await this.req<{ metadata: { generation: number } }>(
      'PATCH',
      path,
      { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': new Date().toISOString() } } } } },
      MERGE,
    );
    const generation = d.metadata.generation;
    const progressing = (reason: string) => cond('Progressing', 'True', reason, `ReplicaSet "${name}" is progressing.`);
    const available = cond('Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.');
    await this.status(path, {
      observedGeneration: generation,
      replicas: 2,
      updatedReplicas: 1,
      readyReplicas: 1,
      availableReplicas: 1,
      unavailableReplicas: 1,
      conditions: [available, progressing('ReplicaSetUpdated')],
    });
    const key = `${namespace}/${name}`;
    const fresh = `${name}-${this.label}-${Date.now().toString(36)}`;
    await this.pod(namespace, fresh, labels, false);
    await sleep(1000); // readiness probe (a ping: a standby is Ready too)
    await this.setPodReady(namespace, fresh, true);
    await this.status(path, {
      observedGeneration: generation,
      replicas: 2,
      updatedReplicas: 1,
      readyReplicas: 2,
      availableReplicas: 2,
      unavailableReplicas: 0,
      conditions: [available, progressing('ReplicaSetUpdated')],
    });
    // The old pod is deleted; its process exits on SIGTERM without releasing the Lease.
    const lastRenew = await this.stopRenewing(namespace, lease);
    const old = this.pods.get(key);
    if (old) await this.req('DELETE', `/api/v1/namespaces/${namespace}/pods/${old}?gracePeriodSeconds=0`).catch(() => undefined);
    this.pods.set(key, fresh);
    await this.status(path, {
      observedGeneration: generation,
      replicas: 1,
      updatedReplicas: 1,
      readyReplicas: 1,
      availableReplicas: 1,
      unavailableReplicas: 0,
      conditions: [available, progressing('NewReplicaSetAvailable')],
    });
    if (target === 'kaiwo') this.resetOperatorMetrics();
    // The new candidate's first attempt after the Lease expired (it retries every 2 s): the worst case.
    await sleep(Math.max(0, lastRenew.getTime() + this.leaseDurationSeconds * 1000 + 2000 - Date.now()));
    const now = microTime(new Date());
    const l = await this.req<{ spec: { leaseTransitions?: number } }>(
      'GET',
      `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/${lease}`,
    );
    await this.req(
      'PATCH',
      `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/${lease}`,
      {
        spec: {
          holderIdentity: `${fresh}_${Date.now().toString(36)}`,
          acquireTime: now,
          renewTime: now,
          leaseTransitions: (l.spec.leaseTransitions ?? 0) + 1,
        },
      },
      MERGE,
    );
    const acquired = new Date();
    this.renew(namespace, lease);
    return { lastRenew, acquired };
  }

  setDeploymentAvailable(namespace: string, name: string, available: number): Promise<unknown> {
    return this.status(`/apis/apps/v1/namespaces/${namespace}/deployments/${name}`, {
      observedGeneration: 1,
      replicas: 1,
      updatedReplicas: 1,
      readyReplicas: available,
      availableReplicas: available,
    });
  }

  /** Creates the Lease, or takes over an existing one with this simulation's duration (simulations share them). */
  private async lease(namespace: string, name: string): Promise<void> {
    const now = microTime(new Date());
    const spec = {
      holderIdentity: `${name.split('.')[0] ?? 'x'}-pod_1`,
      leaseDurationSeconds: this.leaseDurationSeconds,
      acquireTime: now,
      renewTime: now,
    };
    await this.create(`/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases`, {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name, namespace },
      spec,
    });
    await this.req('PATCH', `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/${name}`, { spec }, MERGE);
  }

  /** Renews a leader Lease every second, like a live controller-runtime leader. */
  renew(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    if (this.renewals.has(key)) return;
    const tick = () => {
      void this.req(
        'PATCH',
        `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/${name}`,
        { spec: { renewTime: microTime(new Date()) } },
        MERGE,
      ).catch(() => undefined);
    };
    tick();
    const t = setInterval(tick, 1000);
    t.unref();
    this.renewals.set(key, t);
  }

  /** Stops renewing (the leader hung); resolves with the last renewTime written. */
  async stopRenewing(namespace: string, name: string): Promise<Date> {
    const key = `${namespace}/${name}`;
    clearInterval(this.renewals.get(key));
    this.renewals.delete(key);
    await new Promise((r) => setTimeout(r, 300)); // let an in-flight renewal land
    const l = await this.req<{ spec: { renewTime: string } }>('GET', `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/${name}`);
    return new Date(l.spec.renewTime);
  }

  setClusterQueueActive(active: boolean): Promise<unknown> {
    return this.status(`/apis/kueue.x-k8s.io/v1beta2/clusterqueues/${this.cq}`, {
      pendingWorkloads: 0,
      admittedWorkloads: 0,
      reservingWorkloads: 0,
      conditions: [
        active
          ? cond('Active', 'True', 'Ready', 'Can admit new workloads')
          : cond('Active', 'False', 'Stopped', "Can't admit new workloads: is stopped."),
      ],
    });
  }

  setNode(name: string, s: { ready: boolean; allocatable?: number }): Promise<unknown> {
    const n = this.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no simulated node ${name}`);
    const gpus = String(this.gpusPerNode);
    return this.status(`/api/v1/nodes/${name}`, {
      capacity: { cpu: '96', memory: '1Ti', pods: '110', [n.resource]: gpus },
      allocatable: { cpu: '96', memory: '1Ti', pods: '110', [n.resource]: String(s.allocatable ?? this.gpusPerNode) },
      conditions: [
        s.ready
          ? cond('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status')
          : cond('Ready', 'False', 'KubeletNotReady', 'container runtime is down'),
      ],
    });
  }

  /** Creates a KaiwoJob and gives it `status` (RUNNING since `opts.startedAt`, default now). */
  async kaiwoJob(name: string, status: string, opts: KaiwoJobOptions = {}): Promise<void> {
    await this.create(`/apis/kaiwo.silogen.ai/v1alpha1/namespaces/${this.ns}/kaiwojobs`, {
      apiVersion: 'kaiwo.silogen.ai/v1alpha1',
      kind: 'KaiwoJob',
      metadata: { name, namespace: this.ns },
      spec: { gpus: 8, gpuVendor: 'amd', image: 'rocm/pytorch' },
    });
    await this.setKaiwoJobStatus(name, status, opts);
  }

  /**
   * Writes a KaiwoJob status the way Kaiwo v0.1.9 does: Schedulable/Admitted conditions written at admission and
   * left alone afterwards; startTime on the move to RUNNING; startTime and duration (seconds) rewritten with every
   * later transition (RUNNING → FAILED/COMPLETE changes no condition); never completionTime. ERROR is Kaiwo's
   * recoverable "not schedulable": Schedulable=False with a reason such as InsufficientGPUs.
   */
  setKaiwoJobStatus(name: string, status: string, opts: KaiwoJobOptions = {}): Promise<unknown> {
    const now = new Date();
    const job = this.jobs.get(name) ?? { admitted: isoSeconds(opts.startedAt ?? now) };
    this.jobs.set(name, job);
    const admittedConds = [
      { type: 'Schedulable', status: 'True', reason: 'Schedulable', message: 'Cluster has enough GPUs', lastTransitionTime: job.admitted },
      { type: 'Admitted', status: 'True', reason: 'Admitted', message: 'Workload admitted', lastTransitionTime: job.admitted },
    ];
    const path = `/apis/kaiwo.silogen.ai/v1alpha1/namespaces/${this.ns}/kaiwojobs/${name}`;
    if (status === 'ERROR') {
      const u = opts.unschedulable ?? {
        reason: 'InsufficientGPUs',
        message: `Insufficient GPUs: requested 16 amd.com/gpu, cluster has ${this.nodes.length * this.gpusPerNode}`,
      };
      return this.status(path, {
        status,
        conditions: [{ type: 'Schedulable', status: 'False', reason: u.reason, message: u.message, lastTransitionTime: isoSeconds(now) }],
      });
    }
    if (status === 'PENDING') {
      return this.status(path, {
        status,
        conditions: [
          admittedConds[0],
          {
            type: 'Admitted',
            status: 'False',
            reason: 'Pending',
            message: `Workload is pending admission into '${this.cq}'`,
            lastTransitionTime: job.admitted,
          },
        ],
      });
    }
    if (status === 'RUNNING') job.started = opts.startedAt ?? now;
    const started = job.started ?? now;
    return this.status(path, {
      status,
      startTime: isoSeconds(started),
      duration: Math.max(0, Math.floor((now.getTime() - started.getTime()) / 1000)),
      conditions: admittedConds,
    });
  }

  async deleteKaiwoJob(name: string): Promise<void> {
    this.jobs.delete(name);
    await this.req('DELETE', `/apis/kaiwo.silogen.ai/v1alpha1/namespaces/${this.ns}/kaiwojobs/${name}`).catch(() => undefined);
  }

  /** A Kueue Workload that never gets quota. Resolves with its creationTimestamp. */
  async pendingWorkload(name: string): Promise<Date> {
    const w = await this.req<{ metadata: { creationTimestamp: string } }>(
      'POST',
      `/apis/kueue.x-k8s.io/v1beta2/namespaces/${this.ns}/workloads`,
      {
        apiVersion: 'kueue.x-k8s.io/v1beta2',
        kind: 'Workload',
        metadata: { name, namespace: this.ns },
        spec: {
          queueName: 'kaiwo',
          podSets: [
            {
              name: 'main',
              count: 1,
              template: {
                spec: {
                  restartPolicy: 'Never',
                  containers: [{ name: 'train', image: 'rocm/pytorch', resources: { requests: { 'amd.com/gpu': '8' } } }],
                },
              },
            },
          ],
        },
      },
    );
    return new Date(w.metadata.creationTimestamp);
  }

  async deleteWorkload(name: string): Promise<void> {
    await this.req('DELETE', `/apis/kueue.x-k8s.io/v1beta2/namespaces/${this.ns}/workloads/${name}`).catch(() => undefined);
  }

  private metrics:
    { close: () => Promise<void>; errors: Counter<'controller'>; panics: Counter<'controller'>; reset: () => void } | undefined;
  /** Requests the simulated operator metrics endpoint has answered. */
  operatorScrapes = 0;

  /**
   * A stand-in for the Kaiwo operator's metrics endpoint: HTTPS on 127.0.0.1 with controller-runtime metric
   * names, bearer tokens checked with the API server's TokenReview and SubjectAccessReview (like Kaiwo's
   * kustomize install). Returns its URL and a Secret holding a ServiceAccount token allowed to scrape it.
   */
  async startOperatorMetrics(): Promise<{ url: string; secretRef: { namespace: string; name: string; key: string } }> {
    const registry = new Registry();
    const registers = [registry];
    const errors = new Counter({
      name: 'controller_runtime_reconcile_errors_total',
      help: 'errors',
      labelNames: ['controller'],
      registers,
    });
    const panics = new Counter({
      name: 'controller_runtime_reconcile_panics_total',
      help: 'panics',
      labelNames: ['controller'],
      registers,
    });
    const total = new Counter({
      name: 'controller_runtime_reconcile_total',
      help: 'reconciles',
      labelNames: ['controller', 'result'],
      registers,
    });
    const depth = new Gauge({ name: 'workqueue_depth', help: 'depth', labelNames: ['name', 'controller'], registers });
    const time = new Histogram({
      name: 'controller_runtime_reconcile_time_seconds',
      help: 'time',
      labelNames: ['controller'],
      buckets: [0.01, 0.1, 1, 10],
      registers,
    });
    const init = () => {
      for (const c of ['kaiwojob', 'kaiwoservice', 'kaiwoqueueconfig']) {
        errors.inc({ controller: c }, 0);
        panics.inc({ controller: c }, 0);
        total.inc({ controller: c, result: 'success' }, 10);
        depth.set({ name: c, controller: c }, 0);
        time.observe({ controller: c }, 0.05);
      }
    };
    init();
    const counted = () => {
      this.operatorScrapes++;
    };
    new Gauge({
      name: 'leader_election_master_status',
      help: 'leader',
      labelNames: ['name'],
      registers,
      collect() {
        counted();
        this.set({ name: '83fc2279.silogen.ai' }, 1);
      },
    });
    const server = await startMetricsServer({
      bindAddress: '127.0.0.1:0',
      secure: true,
      registry,
      kc: this.kc,
      log: createLogger({ level: 'error' }),
    });
    if (!server) throw new Error('metrics server did not start');
    this.metrics = {
      close: server.close,
      errors,
      panics,
      reset: () => {
        for (const m of [errors, panics, total, depth, time]) m.reset();
        init();
      },
    };

    const ns = 'kaiwo-system';
    const sa = 'kaiwo-monitor-scraper';
    await this.create(`/api/v1/namespaces/${ns}/serviceaccounts`, { metadata: { name: sa, namespace: ns } });
    await this.create('/apis/rbac.authorization.k8s.io/v1/clusterroles', {
      metadata: { name: 'kaiwo-metrics-reader-sim' },
      rules: [{ nonResourceURLs: ['/metrics'], verbs: ['get'] }],
    });
    await this.create('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
      metadata: { name: 'kaiwo-metrics-reader-sim' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'kaiwo-metrics-reader-sim' },
      subjects: [{ kind: 'ServiceAccount', name: sa, namespace: ns }],
    });
    const tr = await this.req<{ status: { token: string } }>('POST', `/api/v1/namespaces/${ns}/serviceaccounts/${sa}/token`, {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { expirationSeconds: 86_400 },
    });
    await this.create(`/api/v1/namespaces/${ns}/secrets`, {
      metadata: { name: 'metrics-token', namespace: ns },
      type: 'Opaque',
      data: { token: Buffer.from(tr.status.token).toString('base64') },
    });
    return { url: `https://127.0.0.1:${server.port}/metrics`, secretRef: { namespace: ns, name: 'metrics-token', key: 'token' } };
  }

  /** A new operator process: every counter starts again from 0. */
  private resetOperatorMetrics(): void {
    this.metrics?.reset();
  }

  /** The simulated operator starts failing reconciles (its error counter rises). */
  addReconcileErrors(n: number): void {
    this.metrics?.errors.inc({ controller: 'kaiwojob' }, n);
  }

  async stop(): Promise<void> {
    for (const t of this.renewals.values()) clearInterval(t);
    this.renewals.clear();
    await this.metrics?.close();
  }
}

export interface KaiwoJobOptions {
  /** RUNNING: when it started (default now); the first status also dates admission to this time. */
  startedAt?: Date;
  /** ERROR: Kaiwo's Schedulable=False reason and message (default InsufficientGPUs). */
  unschedulable?: { reason: string; message: string };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function cond(type: string, status: string, reason: string, message: string) {
  return { type, status, reason, message, lastTransitionTime: isoSeconds(new Date()) };
}
