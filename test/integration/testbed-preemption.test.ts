import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Condition, Finding, KaiwoMonitor } from '../../src/api/types.js';
import { KAIWO_NAMESPACE } from '../../src/localcluster/testbed/kaiwo.js';
import { TestBed } from '../../src/localcluster/testbed/testbed.js';
import { kueuePath, submitKaiwoJob } from '../../src/localcluster/testbed/workloads.js';
import { pinned } from '../../src/localcluster/versions.js';
import { rawJson } from '../../src/runtime/rawrequest.js';
import {
  findingLines,
  observe,
  bumpGeneration,
  editQueueConfig,
  onlyChecks,
  QUEUE_CONFIG_PATH,
  type QueueConfig,
  stopTestBed,
  watchTestBed,
  type Watching,
} from '../support/testbed-monitor.js';
import { waitFor } from '../support/wait.js';

/**
 * Kaiwo v0.2's GPU preemption on the test bed: the real Kaiwo v0.2.0-rc12 with GPU_PREEMPTION_ENABLED set on its
 * Deployment (as a platform engineer enables it; the test bed rolls the operator's pod and runs the new process with
 * that env), polling a fake device-metrics exporter on loopback that serves `gpu_gfx_activity` for the job's pod, and a
 * KaiwoJob in a namespace opted in to preemption. Kaiwo itself creates the GpuWorkload, reads the metric, marks it
 * Idle and preempts it (policy Always); the monitor reads what Kaiwo wrote.
 */
const MON = 'gpu-preemption';
const NS = 'ml-preempt';
const POLL = '2s';
const GRACE = '20s';
const METRICS_GRACE = '15s';
const log = (m: string) => process.stderr.write(`      [testbed] ${m}\n`);

interface GpuWorkload {
  metadata: { name: string };
  spec: { workloadRef: { kind: string; name: string } };
  status?: {
    phase?: string;
    idleSince?: string;
    preemptionReason?: string;
    lastMetricsUpdate?: string;
    trackedPods?: { podName: string }[];
  };
}

describe(`e2e on the test bed: the real Kaiwo ${pinned('KAIWO_NEXT_VERSION')}'s GPU preemption (GpuWorkloads)`, function () {
  this.timeout(300_000);
  const tb = new TestBed({ kaiwoVersion: pinned('KAIWO_NEXT_VERSION'), log });
  const state: Watching = {};
  /** What the fake exporter serves: gpu_gfx_activity per pod (8 GPUs each); undefined: HTTP 503. */
  let served: Map<string, number> | undefined = new Map();
  let exporter: Server | undefined;
  let endpoint = '';
  const { rec, seenSince, detected, report } = observe(state, { log, show: (m) => findingLines(m, 'operator'), timeoutMs: 120_000 });
  const req = <T>(method: string, path: string, body?: unknown, contentType?: string) =>
    rawJson<T>(tb.kc, { method, path, ...(body !== undefined ? { body } : {}), ...(contentType ? { contentType } : {}) });
  const findings = (m: KaiwoMonitor): Finding[] => (m.status?.findings ?? []).filter((f) => f.component === 'operator');
  const finding = (m: KaiwoMonitor, reason: string) => findings(m).find((f) => f.reason === reason);
  const operatorCond = (m: KaiwoMonitor): Condition | undefined => m.status?.conditions?.find((c) => c.type === 'KaiwoOperatorHealthy');
  /** Serves a new value for `pod` every second (from + 0.75 k, wrapping after 30 steps) until the returned stop is called. */
  const moveValues = (pod: string, from: number): (() => void) => {
    let k = 0;
    served = new Map([[pod, from]]);
    const timer = setInterval(() => {
      k = (k + 1) % 30;
      served = new Map([[pod, from + 0.75 * k]]);
    }, 1000);
    return () => {
      clearInterval(timer);
    };
  };
  const gpuWorkloads = async () =>
    (await req<{ items: GpuWorkload[] }>('GET', `/apis/kaiwo.silogen.ai/v1alpha1/namespaces/${NS}/gpuworkloads`)).items;

  before(async function () {
    this.timeout(900_000);
    exporter = createServer((rq, res) => {
      if (rq.url !== '/metrics' || !served) {
        res.writeHead(503).end('not ready');
        return;
      }
      const lines = ['# HELP gpu_gfx_activity GPU activity', '# TYPE gpu_gfx_activity gauge'];
      for (const [pod, value] of served)
        for (let g = 0; g < 8; g++)
          lines.push(`gpu_gfx_activity{gpu_id="${g}",gpu_partition_id="0",namespace="${NS}",pod="${pod}",container="main"} ${value}`);
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(`${lines.join('\n')}\n`);
    });
    await new Promise<void>((r) => exporter?.listen(0, '127.0.0.1', r));
    endpoint = `http://127.0.0.1:${(exporter.address() as AddressInfo).port}/metrics`;
    await tb.start();
    log(
      `test bed started in ${(tb.startupMs / 1000).toFixed(1)}s: ${tb.phases.map(([n, ms]) => `${n} ${(ms / 1000).toFixed(1)}s`).join(', ')}`,
    );
    // The team's namespace opted in to preemption (any gpu-preemption.* annotation opts in; these also set the policy).
    await req('POST', '/api/v1/namespaces', {
      metadata: {
        name: NS,
        annotations: {
          'kaiwo.silogen.ai/gpu-preemption.enabled': 'true',
          'kaiwo.silogen.ai/gpu-preemption.policy': 'Always',
          'kaiwo.silogen.ai/gpu-preemption.grace-period': GRACE,
        },
      },
    });
    await waitFor(
      'KaiwoQueueConfig kaiwo READY',
      async () => (await req<QueueConfig>('GET', QUEUE_CONFIG_PATH).catch(() => undefined))?.status?.status === 'READY',
      120_000,
      250,
    );
    await editQueueConfig(tb.kc, (qc) => {
      const cq = qc.spec.clusterQueues?.find((c) => c.name === 'kaiwo');
      if (cq) cq.namespaces = [NS];
    });
    await waitFor(
      'LocalQueue kaiwo in the team namespace',
      async () => (await req('GET', `${kueuePath(tb.kueue.apiVersion, 'localqueues', NS)}/kaiwo`).catch(() => undefined)) !== undefined,
      120_000,
      250,
    );
    // Enable GPU preemption the way its docs say: env on the operator's Deployment (a rollout).
    await req(
      'PATCH',
      `/apis/apps/v1/namespaces/${KAIWO_NAMESPACE}/deployments/kaiwo-controller-manager`,
      {
        spec: {
          template: {
            spec: {
              containers: [
                {
                  name: 'manager',
                  env: [
                    { name: 'GPU_PREEMPTION_ENABLED', value: 'true' },
                    { name: 'GPU_PREEMPTION_METRICS_ENDPOINT', value: endpoint },
                    { name: 'GPU_PREEMPTION_POLLING_INTERVAL', value: POLL },
                  ],
                },
              ],
            },
          },
        },
      },
      'application/strategic-merge-patch+json',
    );
    await waitFor(
      'the Kaiwo operator rolled out with GPU preemption on',
      async () => {
        const d = await req<{
          metadata: { generation: number };
          status?: { observedGeneration?: number; updatedReplicas?: number; availableReplicas?: number; replicas?: number };
        }>('GET', `/apis/apps/v1/namespaces/${KAIWO_NAMESPACE}/deployments/kaiwo-controller-manager`);
        const s = d.status ?? {};
        return s.observedGeneration === d.metadata.generation && s.updatedReplicas === 1 && s.availableReplicas === 1 && s.replicas === 1;
      },
      180_000,
      500,
    );
    await tb.kaiwo.waitLeader();
    await watchTestBed(
      tb,
      MON,
      onlyChecks({
        operator: {
          metrics: { enabled: false },
          gpuPreemption: { metricsGrace: METRICS_GRACE, idleFor: '5s', maxPreemptingDuration: '2m', preemptionWindow: '30m' },
        },
      }),
      state,
    );
  });

  after(async function () {
    this.timeout(120_000);
    await stopTestBed(tb, state);
    await new Promise((r) => exporter?.close(r));
    report(
      `Kaiwo ${pinned('KAIWO_NEXT_VERSION')} GPU preemption on the test bed (poll ${POLL}, metricsGrace ${METRICS_GRACE}), cause → status`,
    );
  });

  it('a job whose pod the exporter does not serve: Critical GPUPreemptionBlind naming the endpoint; healed when the series appears; then GPUsHeldIdle with the moment Kaiwo will preempt, and the preemption Kaiwo makes, with its reason', async () => {
    const t0 = Date.now();
    await submitKaiwoJob(tb.kc, NS, 'idle-train', { gpus: 8, gpuVendor: 'amd', runFor: '1h' });
    const gw = await waitFor(
      "Kaiwo's GpuWorkload Active with the running pod tracked",
      async () => (await gpuWorkloads()).find((w) => w.status?.phase === 'Active' && (w.status.trackedPods?.length ?? 0) > 0),
      120_000,
      250,
    );
    const activeAt = Date.now();
    log(`GpuWorkload ${gw.metadata.name} Active for ${gw.spec.workloadRef.kind}/${gw.spec.workloadRef.name} after ${activeAt - t0} ms`);
    // The exporter serves no series for its pod yet: Kaiwo gets no metric.
    const blind = await seenSince('GPUPreemptionBlind', activeAt, (m) => finding(m, 'GPUPreemptionBlind') !== undefined);
    detected(`GpuWorkload Active without any GPU metric → Critical GPUPreemptionBlind (metricsGrace ${METRICS_GRACE})`, activeAt, blind);
    expect(operatorCond(blind.monitor)).to.include({ status: 'False', reason: 'GPUPreemptionBlind' });
    expect(finding(blind.monitor, 'GPUPreemptionBlind')?.message).to.equal(
      `Kaiwo reads no GPU metrics from ${endpoint} (polled every ${POLL}): of its GpuWorkloads, 1 Active with running pods never got a GPU metric ` +
        `(${NS}/${gw.metadata.name}) for ${METRICS_GRACE}, and none moved meanwhile. It marks none Idle and protects none from preemption on stale values; ` +
        'check that the endpoint answers Kaiwo over plain HTTP(S) with gauge gpu_gfx_activity labelled namespace and pod',
    );
    expect(blind.monitor.status?.summary?.operator?.counts).to.include({ gpuWorkloads: 1, gpuWorkloadsWithoutMetrics: 1 });

    // The fix: the exporter serves the pod's GPUs, idle.
    const pod = gw.status?.trackedPods?.[0]?.podName ?? '';
    const fixedAt = Date.now();
    served = new Map([[pod, 0]]);
    const idle = await waitFor(
      'Kaiwo marks the GpuWorkload Idle from the metric',
      async () => (await gpuWorkloads()).find((w) => w.metadata.name === gw.metadata.name && w.status?.phase === 'Idle'),
      60_000,
      250,
    );
    const healed = await seenSince('GPUPreemptionBlind gone', fixedAt, (m) => finding(m, 'GPUPreemptionBlind') === undefined);
    detected('exporter serves the pod → GPUPreemptionBlind gone (Kaiwo polls every 2 s)', fixedAt, healed);

    // Idle longer than idleFor (5 s): a Warning saying when Kaiwo will preempt (policy Always from the namespace, grace 20s).
    const held = await seenSince('GPUsHeldIdle', fixedAt, (m) => finding(m, 'GPUsHeldIdle') !== undefined);
    detected('GpuWorkload Idle (Kaiwo) → Warning GPUsHeldIdle (idleFor 5 s)', fixedAt, held);
    const idleSince = idle.status?.idleSince ?? '';
    const at = new Date(Date.parse(idleSince) + 20_000).toISOString().replace(/\.\d+Z$/, 'Z');
    expect(finding(held.monitor, 'GPUsHeldIdle')?.message).to.equal(
      `8 GPUs held idle (below the utilization threshold) for longer than 5s by 1 GpuWorkload: ${NS}/${gw.metadata.name} ` +
        `(KaiwoJob/idle-train, 8 amd.com/gpu, idle since ${idleSince}; Kaiwo preempts it at its first evaluation from ${at} on ` +
        `(policy Always, grace ${GRACE}; Idle workloads are re-evaluated every 60s))`,
    );
    expect(operatorCond(held.monitor)?.status).to.equal('True');

    // Kaiwo preempts it (deletes the KaiwoJob): the monitor reports the preemption with Kaiwo's reason.
    const preempted = await waitFor(
      'Kaiwo preempts the idle GpuWorkload',
      async () => (await gpuWorkloads()).find((w) => w.metadata.name === gw.metadata.name && w.status?.phase === 'Preempted'),
      150_000,
      500,
    );
    const reason = preempted.status?.preemptionReason ?? '';
    log(`Kaiwo: ${reason}`);
    expect(reason).to.match(/^Policy is Always and workload has been idle for /);
    const info = await seenSince('GPUWorkloadsPreempted', fixedAt, (m) => finding(m, 'GPUWorkloadsPreempted') !== undefined);
    expect(finding(info.monitor, 'GPUWorkloadsPreempted')).to.deep.include({
      severity: 'Info',
      message: `Kaiwo preempted 1 GpuWorkload (8 GPUs) in the last 30m: ${NS}/${gw.metadata.name} (KaiwoJob/idle-train): ${reason}`,
    });
    expect(finding(info.monitor, 'GPUsHeldIdle')).to.equal(undefined);
    expect(info.monitor.status?.summary?.operator?.counts).to.include({ preemptions: 1, idleGPUs: 0 });
    expect(
      await req('GET', `/apis/kaiwo.silogen.ai/v1alpha1/namespaces/${NS}/kaiwojobs/idle-train`).then(
        () => 'exists',
        () => 'gone',
      ),
    ).to.equal('gone');
  });

  it('the exporter dies under a busy job: its values freeze in Kaiwo (lastMetricsUpdate stops) → Critical GPUPreemptionBlind after metricsGrace; cleared when values move again', async () => {
    await submitKaiwoJob(tb.kc, NS, 'busy-train', { gpus: 8, gpuVendor: 'amd', runFor: '1h' });
    const gw = await waitFor(
      'the busy GpuWorkload tracked',
      async () =>
        (await gpuWorkloads()).find(
          (w) => w.spec.workloadRef.name === 'busy-train' && w.status?.phase === 'Active' && (w.status.trackedPods?.length ?? 0) > 0,
        ),
      120_000,
      250,
    );
    const pod = gw.status?.trackedPods?.[0]?.podName ?? '';
    // Busy and moving, as a training job's GPUs are: the value changes on every poll.
    let stopMoving = moveValues(pod, 30);
    try {
      await waitFor(
        'Kaiwo reads the busy values',
        async () => (await gpuWorkloads()).find((w) => w.metadata.name === gw.metadata.name && w.status?.lastMetricsUpdate !== undefined),
        60_000,
        250,
      );
      // Longer than metricsGrace with values moving: the monitor writes a status for a spec change it does not act on,
      // and up to then nothing said blind.
      const quietFrom = Date.now();
      const generation = await bumpGeneration(tb.kc, MON, '31m');
      await new Promise((r) => setTimeout(r, 20_000));
      const marker = await seenSince(
        `a status of generation ${generation}`,
        quietFrom,
        (m) => (m.status?.observedGeneration ?? 0) >= generation,
      );
      const wrong = rec()
        .seen.filter((x) => x.at >= quietFrom && x.at <= Math.max(marker.at, Date.now()))
        .map((x) => finding(x.monitor, 'GPUPreemptionBlind')?.message)
        .filter((x) => x !== undefined);
      if (wrong.length) log(`GpuWorkload while blind was reported: ${JSON.stringify((await gpuWorkloads()).map((w) => w.status))}`);
      expect(wrong).to.deep.equal([]);
    } finally {
      stopMoving();
    }
    // The exporter dies: Kaiwo's scrapes fail and write nothing; the values it holds stop moving.
    const diedAt = Date.now();
    served = undefined;
    const blind = await seenSince('GPUPreemptionBlind on frozen values', diedAt, (m) => finding(m, 'GPUPreemptionBlind') !== undefined);
    detected(`exporter answering 503 under a busy job → Critical GPUPreemptionBlind (metricsGrace ${METRICS_GRACE})`, diedAt, blind);
    expect(finding(blind.monitor, 'GPUPreemptionBlind')?.message).to.include(`1 stopped getting new values (${NS}/${gw.metadata.name})`);
    // The exporter is back, the job still busy: values in a range the frozen ones are not in.
    const backAt = Date.now();
    stopMoving = moveValues(pod, 61);
    const healed = await seenSince('GPUPreemptionBlind gone', backAt, (m) => finding(m, 'GPUPreemptionBlind') === undefined)
      .catch(async (err: unknown) => {
        log(`GpuWorkloads: ${JSON.stringify((await gpuWorkloads()).map((w) => w.status))}`);
        const lines = (await readFile(tb.kaiwo.logFile, 'utf8').catch(() => '')).split('\n');
        log(
          `Kaiwo's log, errors:\n${lines
            .filter((l) => /panic|fatal|"error"|Stopping|leader/i.test(l) && !l.includes('scrape cycle failed'))
            .slice(-80)
            .join('\n')}`,
        );
        throw err;
      })
      .finally(stopMoving);
    detected('exporter back, values move → GPUPreemptionBlind gone', backAt, healed);
  });
});
