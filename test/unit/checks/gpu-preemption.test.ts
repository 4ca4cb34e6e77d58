import { expect } from 'chai';
import { applyDefaults } from '../../../src/api/defaults.js';
import { resetAbsences } from '../../../src/checks/absence.js';
import { gpuPreemptionFindings, type PreemptionSettings, preemptionSettings, slimGpuWorkload } from '../../../src/checks/gpu-preemption.js';
import { operatorCheck } from '../../../src/checks/operator.js';
import { type KaiwoMonitorSpec, specSchema } from '../../../src/checks/registry.js';
import type { SourceView } from '../../../src/checks/types.js';
import { NextCheck } from '../../../src/checks/util.js';
import type { KubeObject } from '../../../src/runtime/objects.js';
import { ago, deployment, lease, NOW, view } from '../../support/fixtures.js';

const spec = applyDefaults<KaiwoMonitorSpec>(specSchema, {}).operator;
const ON: PreemptionSettings = {
  enabled: true,
  endpoint: 'http://exporter:5000/metrics',
  pollInterval: '15s',
  policy: 'OnPressure',
  grace: '10m',
};
const MIN = 60_000;
const at = (ms: number) => new Date(NOW.getTime() + ms);

function gw(
  name: string,
  phase: string,
  o: {
    util?: number[];
    pods?: number;
    updated?: string;
    idleSinceAgoMs?: number;
    preemptedAgoMs?: number;
    reason?: string;
    policy?: string;
    grace?: string;
    gpus?: number;
  } = {},
): KubeObject {
  const pods = o.pods ?? 1;
  return slimGpuWorkload({
    apiVersion: 'kaiwo.silogen.ai/v1alpha1',
    kind: 'GpuWorkload',
    metadata: { name, namespace: 'ml', uid: `uid-${name}`, creationTimestamp: ago(3_600_000) },
    spec: {
      workloadRef: { apiVersion: 'kaiwo.silogen.ai/v1alpha1', kind: 'KaiwoJob', name, uid: 'x' },
      gpuResources: { 'amd.com/gpu': o.gpus ?? 8 },
      ...(o.policy ? { preemptionPolicy: o.policy } : {}),
      ...(o.grace ? { gracePeriod: o.grace } : {}),
    },
    status: {
      phase,
      trackedPods: Array.from({ length: pods }, (_, i) => ({
        podName: `${name}-${i}`,
        gpuMetrics: (o.util ?? []).map((u, g) => ({ gpuId: String(g), utilization: u, lastUpdate: ago(MIN) })),
      })),
      ...(o.updated ? { lastMetricsUpdate: o.updated } : {}),
      ...(o.idleSinceAgoMs !== undefined ? { idleSince: ago(o.idleSinceAgoMs) } : {}),
      ...(o.preemptedAgoMs !== undefined ? { preemptedAt: ago(o.preemptedAgoMs) } : {}),
      ...(o.reason ? { preemptionReason: o.reason } : {}),
    },
  });
}
const prefs = { idleFor: '30m', maxPreemptingDuration: '5m', metricsGrace: '5m', preemptionWindow: '1h' };
function judge(objects: KubeObject[], now = NOW, settings = ON) {
  const next = new NextCheck(now);
  const r = gpuPreemptionFindings(view(objects), settings, prefs, 'kaiwo-system/kaiwo-controller-manager', now, next);
  return { ...r, next: next.at };
}

describe('check: Kaiwo v0.2 GPU preemption (GpuWorkloads)', () => {
  beforeEach(() => {
    resetAbsences();
  });

  it('nothing without GpuWorkloads (kind not served, or none)', () => {
    expect(judge([])).to.deep.include({ findings: [], counts: {} });
    const absent = gpuPreemptionFindings(view([], 'absent'), ON, prefs, 'd', NOW, new NextCheck(NOW));
    expect(absent).to.deep.equal({ findings: [], counts: {} });
  });

  it("reads Kaiwo's settings: the Deployment's literal env, KaiwoConfig.spec.gpuPreemption over it, built-in defaults", () => {
    const d = deployment('kaiwo-system', 'kaiwo-controller-manager');
    (d.spec as { template: unknown }).template = {
      spec: {
        containers: [
          { name: 'sidecar', env: [{ name: 'GPU_PREEMPTION_ENABLED', value: 'false' }] },
          {
            name: 'manager',
            env: [
              { name: 'GPU_PREEMPTION_ENABLED', value: 'true' },
              { name: 'GPU_PREEMPTION_METRICS_ENDPOINT', value: 'http://dme.kube-amd-gpu:5000/metrics' },
              { name: 'GPU_PREEMPTION_DEFAULT_POLICY', value: 'Always' },
              null,
            ],
          },
        ],
      },
    };
    expect(preemptionSettings(d, undefined)).to.deep.equal({
      enabled: true,
      endpoint: 'http://dme.kube-amd-gpu:5000/metrics',
      pollInterval: '15s',
      policy: 'Always',
      grace: '10m',
    });
    const cfg = view([
      { metadata: { name: 'kaiwo' }, spec: { gpuPreemption: { defaultPolicy: 'OnPressure', defaultGracePeriod: '20m' } } },
    ]);
    expect(preemptionSettings(d, cfg)).to.include({ policy: 'OnPressure', grace: '20m' });
    expect(preemptionSettings(deployment('kaiwo-system', 'x'), undefined)).to.include({
      enabled: false,
      policy: 'OnPressure',
      grace: '10m',
    });
    const fromSecret = deployment('kaiwo-system', 'x');
    (fromSecret.spec as { template: unknown }).template = {
      spec: { containers: [{ name: 'manager', env: [{ name: 'GPU_PREEMPTION_ENABLED', valueFrom: { configMapKeyRef: {} } }] }] },
    };
    expect(preemptionSettings(fromSecret, undefined).enabled).to.equal(undefined);
    expect(preemptionSettings(undefined, undefined).enabled).to.equal(false);
  });

  it('GpuWorkloads left while preemption is off are one Info, nothing else', () => {
    const r = judge([gw('a', 'Idle', { util: [0], idleSinceAgoMs: 86_400_000 })], NOW, { ...ON, enabled: false });
    expect(r.findings.map((f) => [f.severity, f.reason])).to.deep.equal([['Info', 'GPUPreemptionOff']]);
    expect(r.findings[0]?.message).to.include('1 GpuWorkload is left from when it was on');
  });

  it('Active workloads with running pods that never get a metric, and none that has one: Critical after metricsGrace, naming the endpoint', () => {
    const ws = [gw('a', 'Active'), gw('b', 'Active', { pods: 2 })];
    const first = judge(ws);
    expect(first.findings).to.deep.equal([]);
    expect(first.next).to.equal(NOW.getTime() + 5 * MIN);
    const later = judge(ws, at(5 * MIN));
    expect(later.findings).to.have.length(1);
    expect(later.findings[0]).to.deep.include({ severity: 'Critical', reason: 'GPUPreemptionBlind' });
    expect(later.findings[0]?.message).to.match(
      /^Kaiwo reads no GPU metrics from http:\/\/exporter:5000\/metrics \(polled every 15s\): of its GpuWorkloads, 2 Active with running pods never got a GPU metric \(ml\/a, ml\/b\) for 5m/,
    );
    expect(later.counts).to.include({ gpuWorkloadsWithoutMetrics: 2 });
    // Kaiwo polling slower than a third of the grace: the grace is three polls.
    resetAbsences();
    const slow = { ...ON, pollInterval: '4m' };
    judge(ws, NOW, slow);
    expect(judge(ws, at(5 * MIN), slow).findings).to.deep.equal([]);
    expect(judge(ws, at(12 * MIN), slow).findings[0]?.message).to.include('for 720s (3 polls)');
    // A pending one (no pods) is not judged.
    resetAbsences();
    judge([gw('p', 'PendingOther', { pods: 0 })]);
    expect(judge([gw('p', 'PendingOther', { pods: 0 })], at(10 * MIN)).findings).to.deep.equal([]);
  });

  it('one without metrics while others have theirs: a Warning, not blindness', () => {
    const ws = [gw('a', 'Active'), gw('b', 'Active', { util: [0], updated: ago(3_600_000) })];
    judge(ws);
    const r = judge(ws, at(5 * MIN));
    expect(r.findings.map((f) => [f.severity, f.reason])).to.deep.equal([['Warning', 'GPUWorkloadWithoutMetrics']]);
    expect(r.findings[0]?.message).to.include('ml/a');
  });

  it('values inside 0–100 that stop moving while none moves: Critical; a moving one, or only flat 0 % ones, are not', () => {
    const frozen = [gw('a', 'Active', { util: [37.5, 41], updated: ago(MIN) })];
    judge(frozen);
    expect(judge(frozen, at(4 * MIN)).findings).to.deep.equal([]);
    const r = judge(frozen, at(5 * MIN));
    expect(r.findings.map((f) => f.reason)).to.deep.equal(['GPUPreemptionBlind']);
    expect(r.findings[0]?.message).to.include('1 stopped getting new values (ml/a)');

    resetAbsences();
    judge(frozen);
    // Kaiwo wrote a new value: moving again.
    const moved = [gw('a', 'Active', { util: [39, 41], updated: ago(0) })];
    expect(judge(moved, at(4 * MIN)).findings).to.deep.equal([]);
    expect(judge(moved, at(5 * MIN)).findings).to.deep.equal([]);

    resetAbsences();
    const flat = [gw('z', 'Idle', { util: [0], updated: ago(3_600_000), idleSinceAgoMs: MIN })];
    judge(flat);
    expect(judge(flat, at(10 * MIN)).findings.some((f) => f.reason === 'GPUPreemptionBlind')).to.equal(false);
  });

  it('GPUs held idle past idleFor: a Warning naming the worst, with what Kaiwo does next by policy; GPU-hours counted over the window', () => {
    const r = judge([
      gw('always', 'Idle', { util: [0], idleSinceAgoMs: 40 * MIN, policy: 'Always', grace: '1h', gpus: 8 }),
      gw('pressure', 'Idle', { util: [0], idleSinceAgoMs: 35 * MIN, gpus: 4 }),
      gw('fresh', 'Idle', { util: [0], idleSinceAgoMs: 5 * MIN, gpus: 8 }),
    ]);
    const f = r.findings.find((x) => x.reason === 'GPUsHeldIdle');
    expect(f?.severity).to.equal('Warning');
    expect(f?.message).to.equal(
      '12 GPUs held idle (below the utilization threshold) for longer than 30m by 2 GpuWorkloads: ' +
        `ml/always (KaiwoJob/always, 8 amd.com/gpu, idle since ${ago(40 * MIN)}; Kaiwo preempts it at its first evaluation from ${ago(-20 * MIN)} on (policy Always, grace 1h; Idle workloads are re-evaluated every 60s)); ` +
        `ml/pressure (KaiwoJob/pressure, 4 amd.com/gpu, idle since ${ago(35 * MIN)}; Kaiwo preempts it only when another GpuWorkload waits for amd.com/gpu (policy OnPressure, after 10m idle))`,
    );
    expect(r.counts).to.include({ idleGPUs: 20, idleGPUHours: Math.round((8 * 40 + 4 * 35 + 8 * 5) / 60) });
    // "fresh" comes due in 25 minutes.
    expect(r.next).to.be.at.most(NOW.getTime() + 25 * MIN);
    const due = judge([gw('fresh', 'Idle', { util: [0], idleSinceAgoMs: 5 * MIN, gpus: 8 })], at(25 * MIN));
    expect(due.findings.find((x) => x.reason === 'GPUsHeldIdle')?.message).to.match(/^8 GPUs held idle .* by 1 GpuWorkload: ml\/fresh/);
  });

  it('preemptions within the window are one Info with their reasons; a stuck Preempting is a Warning after maxPreemptingDuration', () => {
    const ws = [
      gw('p1', 'Preempted', {
        pods: 0,
        preemptedAgoMs: 10 * MIN,
        reason: 'Policy is Always and workload has been idle for 10m42s (threshold: 10m0s)',
      }),
      gw('p0', 'Preempted', { pods: 0, preemptedAgoMs: 2 * 3_600_000, reason: 'old' }),
      gw('s', 'Preempting', { util: [0] }),
    ];
    const r = judge(ws);
    expect(r.findings.map((f) => [f.severity, f.reason])).to.deep.equal([['Info', 'GPUWorkloadsPreempted']]);
    expect(r.findings[0]?.message).to.equal(
      'Kaiwo preempted 1 GpuWorkload (8 GPUs) in the last 1h: ml/p1 (KaiwoJob/p1): Policy is Always and workload has been idle for 10m42s (threshold: 10m0s)',
    );
    expect(r.counts).to.include({ preemptions: 1 });
    const stuck = judge(ws, at(5 * MIN)).findings.find((f) => f.reason === 'GPUPreemptionStuck');
    expect(stuck?.message).to.match(/^Kaiwo has been preempting ml\/s \(KaiwoJob\/s\) for longer than 5m/);
  });

  it('the projection keeps what the rules read from a hostile object, and the rules do not throw', () => {
    const s = slimGpuWorkload({
      metadata: { name: 'h', namespace: 'ml' },
      spec: { gpuResources: { 'amd.com/gpu': 'lots', 'amd.com/gpu-0': 2, x: -1 }, workloadRef: 'junk', preemptionPolicy: { a: 1 } },
      status: {
        phase: 7,
        trackedPods: [null, 'x', { podName: 'p', gpuMetrics: [null, { utilization: '50' }, { utilization: 50 }, { utilization: 0 }] }],
        idleSince: ['x'],
        preemptionReason: 'r'.repeat(10_000),
      },
    }).status as Record<string, unknown>;
    expect(s).to.deep.include({ phase: '', gpus: 2, resource: 'amd.com/gpu-0', owner: '?/?', pods: 1, metrics: 2, midRange: true });
    expect((s.preemptionReason as string).length).to.equal(300);
    expect(() => judge([{ metadata: { name: 'raw' }, status: { phase: 'Idle', idleSince: 'garbage' } }])).to.not.throw();
  });

  it('in the operator check: its findings and counts join the operator condition', () => {
    const d = deployment('kaiwo-system', 'kaiwo-controller-manager');
    (d.spec as { template: unknown }).template = {
      spec: { containers: [{ name: 'manager', env: [{ name: 'GPU_PREEMPTION_ENABLED', value: 'true' }] }] },
    };
    const data = (now: Date): Record<string, SourceView> => ({
      deployments: view([d]),
      pods: view([]),
      leases: view([lease('kaiwo-system', '83fc2279.silogen.ai', 3000 - (now.getTime() - NOW.getTime()))]),
      queueConfigs: view([{ metadata: { name: 'kaiwo' }, status: { status: 'READY' } }]),
      scheduler: view([deployment('kube-system', 'kaiwo-scheduler')]),
      gpuWorkloads: view([gw('a', 'Active')]),
      kaiwoConfig: { state: 'pending', error: 'forbidden', objects: [] },
    });
    const run = (now: Date) => operatorCheck.evaluate({ spec, data: data(now), scrapes: {}, now, env: {} });
    expect(run(NOW)).to.include({ status: 'True' });
    const r = run(at(5 * MIN));
    expect(r).to.include({ status: 'False', reason: 'GPUPreemptionBlind' });
    expect(r.message).to.include('from GPU_PREEMPTION_METRICS_ENDPOINT');
    expect(r.summary?.counts).to.include({ gpuWorkloads: 1, gpuWorkloadsWithoutMetrics: 1 });
  });
});
