/**
 * The fast loader of make bench-scale: keep-alive HTTPS to the local API server with many requests in flight, and
 * the objects of a GPU cluster shaped like the simulator's — GPU nodes in pools (a ResourceFlavor per pool), one
 * ClusterQueue per pool, LocalQueues, Kueue Workloads with a ≈ 3 KB pod template (75 % admitted, 15 % finished,
 * 10 % pending) and KaiwoJobs — plus the background churn a real cluster has: node status heartbeats.
 */
import { Agent, request, type RequestOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

const MERGE = 'application/merge-patch+json';
export const BENCH_LABEL = 'kaiwo-monitor.dev/bench';
const KUEUE = '/apis/kueue.x-k8s.io/v1beta2';
const KAIWO = '/apis/kaiwo.silogen.ai/v1alpha1';
const GPUS_PER_NODE = 8;

export interface Scale {
  nodes: number;
  workloads: number;
  kaiwoJobs: number;
  pools: number;
  namespaces: number;
}

export class Loader {
  requests = 0;
  private readonly agent: Agent;
  private base: RequestOptions = {};
  private readonly server: URL;

  constructor(
    private readonly kc: KubeConfig,
    readonly concurrency = 48,
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets: concurrency });
    this.server = new URL(kc.getCurrentCluster()?.server ?? 'https://127.0.0.1');
  }

  async init(): Promise<void> {
    const o: RequestOptions = {};
    await this.kc.applyToHTTPSOptions(o);
    this.base = { ...o, agent: this.agent, hostname: this.server.hostname, port: this.server.port };
  }

  /** One request; retries 429, 5xx and connection resets a few times; 409 (exists) counts as done. */
  async req(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<void> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    for (let attempt = 0; ; attempt++) {
      const status = await new Promise<number>((resolve) => {
        const r = request(
          { ...this.base, method, path, headers: { Accept: 'application/json', ...(payload ? { 'Content-Type': contentType } : {}) } },
          (res) => {
            res.resume();
            res.on('end', () => {
              resolve(res.statusCode ?? 0);
            });
            res.on('error', () => {
              resolve(0);
            });
          },
        );
        r.on('error', () => {
          resolve(0);
        });
        r.setTimeout(60_000, () => r.destroy());
        r.end(payload);
      });
      this.requests++;
      if ((status >= 200 && status < 300) || status === 409) return;
      if (attempt >= 5 || (status >= 400 && status < 500 && status !== 429)) throw new Error(`${method} ${path}: HTTP ${status}`);
      await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
    }
  }

  /** Runs `fn` over 0..n-1 with `concurrency` in flight. */
  async each(n: number, fn: (i: number) => Promise<void>): Promise<void> {
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(this.concurrency, n) }, async () => {
        for (let i = next++; i < n; i = next++) await fn(i);
      }),
    );
  }

  close(): void {
    this.agent.destroy();
  }
}

const cond = (type: string, status: string, reason: string, message: string, at: string) => ({
  type,
  status,
  reason,
  message,
  lastTransitionTime: at,
});
export const nodeName = (i: number) => `bench-gpu-${i}`;
const pool = (i: number, s: Scale) => `bench-pool-${i % s.pools}`;
const ns = (i: number, s: Scale) => `bench-ns-${i % s.namespaces}`;

/** A node's status as a kubelet with the AMD device plugin posts it; `beat` is its heartbeat time. */
export function nodeStatus(ready: boolean, beat: string, gpus = GPUS_PER_NODE) {
  return {
    capacity: { cpu: '192', memory: '2113344Mi', pods: '110', 'amd.com/gpu': String(GPUS_PER_NODE) },
    allocatable: { cpu: '190', memory: '2100000Mi', pods: '110', 'amd.com/gpu': String(gpus) },
    conditions: [
      {
        type: 'MemoryPressure',
        status: 'False',
        reason: 'KubeletHasSufficientMemory',
        message: 'kubelet has sufficient memory available',
        lastHeartbeatTime: beat,
        lastTransitionTime: '2026-01-01T00:00:00Z',
      },
      {
        type: 'DiskPressure',
        status: 'False',
        reason: 'KubeletHasNoDiskPressure',
        message: 'kubelet has no disk pressure',
        lastHeartbeatTime: beat,
        lastTransitionTime: '2026-01-01T00:00:00Z',
      },
      {
        type: 'Ready',
        status: ready ? 'True' : 'False',
        reason: ready ? 'KubeletReady' : 'KubeletNotReady',
        message: ready ? 'kubelet is posting ready status' : 'container runtime is down',
        lastHeartbeatTime: beat,
        lastTransitionTime: ready ? '2026-01-01T00:00:00Z' : beat,
      },
    ],
    nodeInfo: {
      kubeletVersion: 'v1.36.3',
      containerRuntimeVersion: 'containerd://2.1.0',
      osImage: 'Ubuntu 24.04 LTS',
      kernelVersion: '6.8.0',
      operatingSystem: 'linux',
      architecture: 'amd64',
      machineID: '',
      systemUUID: '',
      bootID: '',
      kubeProxyVersion: '',
    },
    images: Array.from({ length: 20 }, (_, k) => ({ names: [`registry.example/rocm/pytorch:v${k}`], sizeBytes: 9_000_000_000 })),
  };
}

/** A pod template of ≈ 3 KB, like a training job's. */
function template(job: string) {
  return {
    metadata: { labels: { app: job, 'kaiwo.silogen.ai/managed': 'true' } },
    spec: {
      restartPolicy: 'Never',
      containers: [
        {
          name: 'train',
          image: 'rocm/pytorch:rocm6.4_ubuntu24.04_py3.12_pytorch_release_2.6.0',
          command: ['torchrun', '--nproc_per_node=1', '/workload/train.py', '--config', '/workload/config.yaml'],
          env: Array.from({ length: 24 }, (_, k) => ({ name: `TRAINING_SETTING_${k}`, value: `value-of-setting-number-${k}-for-${job}` })),
          resources: {
            requests: { 'amd.com/gpu': '1', cpu: '16', memory: '128Gi' },
            limits: { 'amd.com/gpu': '1', cpu: '16', memory: '128Gi' },
          },
          volumeMounts: [
            { name: 'dshm', mountPath: '/dev/shm' },
            { name: 'workload', mountPath: '/workload' },
            { name: 'hf-cache', mountPath: '/root/.cache/huggingface' },
          ],
        },
      ],
      volumes: [
        { name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: '64Gi' } },
        { name: 'workload', configMap: { name: `${job}-main` } },
        { name: 'hf-cache', persistentVolumeClaim: { claimName: 'hf-cache' } },
      ],
      tolerations: [{ key: 'amd.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
    },
  };
}

/** Creates everything at `s`; prints progress. */
export async function loadCluster(l: Loader, s: Scale, say: (m: string) => void): Promise<void> {
  const at = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  for (let i = 0; i < s.namespaces; i++)
    await l.req('POST', '/api/v1/namespaces', { metadata: { name: ns(i, s), labels: { [BENCH_LABEL]: 'true' } } });
  const perPool = Math.ceil(s.nodes / s.pools);
  for (let p = 0; p < s.pools; p++) {
    const name = pool(p, s);
    await l.req('POST', `${KUEUE}/resourceflavors`, {
      apiVersion: 'kueue.x-k8s.io/v1beta2',
      kind: 'ResourceFlavor',
      metadata: { name },
      spec: { nodeLabels: { [BENCH_LABEL.replace('bench', 'pool')]: name } },
    });
    await l.req('POST', `${KUEUE}/clusterqueues`, {
      apiVersion: 'kueue.x-k8s.io/v1beta2',
      kind: 'ClusterQueue',
      metadata: { name, labels: { [BENCH_LABEL]: 'true' } },
      spec: {
        namespaceSelector: {},
        resourceGroups: [
          {
            coveredResources: ['amd.com/gpu'],
            flavors: [{ name, resources: [{ name: 'amd.com/gpu', nominalQuota: perPool * GPUS_PER_NODE }] }],
          },
        ],
      },
    });
    await l.req(
      'PATCH',
      `${KUEUE}/clusterqueues/${name}/status`,
      { status: { conditions: [cond('Active', 'True', 'Ready', 'Can admit new workloads', at)] } },
      MERGE,
    );
  }
  for (let i = 0; i < s.namespaces; i++) {
    const path = `${KUEUE}/namespaces/${ns(i, s)}/localqueues`;
    await l.req('POST', path, {
      apiVersion: 'kueue.x-k8s.io/v1beta2',
      kind: 'LocalQueue',
      metadata: { name: 'team', namespace: ns(i, s) },
      spec: { clusterQueue: pool(i, s) },
    });
    await l.req(
      'PATCH',
      `${path}/team/status`,
      { status: { conditions: [cond('Active', 'True', 'Ready', 'Can submit new workloads to localQueue', at)] } },
      MERGE,
    );
  }
  let t0 = Date.now();
  await l.each(s.nodes, async (i) => {
    const name = nodeName(i);
    await l.req('POST', '/api/v1/nodes', {
      metadata: {
        name,
        labels: {
          'kubernetes.io/hostname': name,
          'feature.node.kubernetes.io/amd-gpu': 'true',
          'amd.com/gpu.product-name': 'AMD_Instinct_MI300X',
          [BENCH_LABEL.replace('bench', 'pool')]: pool(i, s),
        },
      },
    });
    await l.req('PATCH', `/api/v1/nodes/${name}/status`, { status: nodeStatus(true, at) }, MERGE);
  });
  say(`  ${s.nodes} nodes in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  t0 = Date.now();
  await l.each(s.workloads, async (i) => {
    const namespace = ns(i, s);
    const name = `bench-wl-${i}`;
    const path = `${KUEUE}/namespaces/${namespace}/workloads`;
    await l.req('POST', path, {
      apiVersion: 'kueue.x-k8s.io/v1beta2',
      kind: 'Workload',
      metadata: { name, namespace },
      spec: { queueName: 'team', podSets: [{ name: 'main', count: 1, template: template(name) }] },
    });
    const kind = i % 20; // 15 of 20 admitted, 3 finished, 2 pending
    const reserved = cond('QuotaReserved', 'True', 'QuotaReserved', `Quota reserved in ClusterQueue ${pool(i, s)}`, at);
    const admission = {
      clusterQueue: pool(i, s),
      podSetAssignments: [{ name: 'main', count: 1, flavors: { 'amd.com/gpu': pool(i, s) }, resourceUsage: { 'amd.com/gpu': '1' } }],
    };
    const status =
      kind < 15
        ? { conditions: [reserved, cond('Admitted', 'True', 'Admitted', 'The workload is admitted', at)], admission }
        : kind < 18
          ? {
              conditions: [
                { ...reserved, status: 'False', reason: 'NoReservation' },
                cond('Finished', 'True', 'Succeeded', 'Job finished successfully', at),
              ],
            }
          : {
              conditions: [
                cond(
                  'QuotaReserved',
                  'False',
                  'Pending',
                  `couldn't assign flavors to pod set main: insufficient unused quota for amd.com/gpu in flavor ${pool(i, s)}`,
                  at,
                ),
              ],
            };
    await l.req('PATCH', `${path}/${name}/status`, { status }, MERGE);
  });
  say(`  ${s.workloads} Workloads in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  t0 = Date.now();
  await l.each(s.kaiwoJobs, async (i) => {
    const namespace = ns(i, s);
    const name = `bench-job-${i}`;
    const path = `${KAIWO}/namespaces/${namespace}/kaiwojobs`;
    await l.req('POST', path, {
      apiVersion: 'kaiwo.silogen.ai/v1alpha1',
      kind: 'KaiwoJob',
      metadata: { name, namespace },
      spec: { gpus: 1, gpuVendor: 'amd', image: 'rocm/pytorch', entrypoint: 'python train.py' },
    });
    await l.req('PATCH', `${path}/${name}/status`, { status: kaiwoJobStatus(i % 5 === 0 ? 'COMPLETE' : 'RUNNING', at) }, MERGE);
  });
  say(`  ${s.kaiwoJobs} KaiwoJobs in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

export function kaiwoJobStatus(status: string, at: string) {
  const conds = [
    cond('Schedulable', 'True', 'Schedulable', 'Cluster has enough GPUs', at),
    cond('Admitted', 'True', 'Admitted', 'Workload admitted', at),
  ];
  return { status, startTime: at, duration: 60, conditions: conds };
}

/**
 * Node heartbeats at a kubelet's rhythm: every node posts its status once per `periodMs` (spread evenly), as the
 * kubelet does when nothing changed (its report frequency); only lastHeartbeatTime moves. Returns a stop function.
 */
export function heartbeats(l: Loader, s: Scale, periodMs: number, skip: Set<string>): () => void {
  let i = 0;
  let due = 0; // heartbeats owed, fractional: 1,000 nodes every 300 s is 1/3 per 100 ms tick
  const timer = setInterval(() => {
    const beat = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    due += (s.nodes * 100) / periodMs;
    for (; due >= 1; due--, i = (i + 1) % s.nodes) {
      const name = nodeName(i);
      if (!skip.has(name))
        void l.req('PATCH', `/api/v1/nodes/${name}/status`, { status: nodeStatus(true, beat) }, MERGE).catch(() => undefined);
    }
  }, 100);
  return () => {
    clearInterval(timer);
  };
}
