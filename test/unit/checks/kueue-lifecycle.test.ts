import { expect } from 'chai';
import { applyDefaults } from '../../../src/api/defaults.js';
import { kueueCheck } from '../../../src/checks/kueue.js';
import { admissionChecksOf, NEW_QUEUE_GRACE_MS } from '../../../src/checks/kueue-admission.js';
import { deactivationCause, foldWorkloads, lifecycleFindings, MAX_NAMED } from '../../../src/checks/kueue-workloads.js';
import { type KaiwoMonitorSpec, specSchema } from '../../../src/checks/registry.js';
import type { SourceView } from '../../../src/checks/types.js';
import { NextCheck } from '../../../src/checks/util.js';
import { slimWorkload } from '../../../src/checks/workload-projection.js';
import type { KubeObject } from '../../../src/runtime/objects.js';
import { recordObservation } from '../../../src/runtime/observed.js';
import { ago, clusterQueue, deployment, lease, localQueue, NOW, view, workload } from '../../support/fixtures.js';

const spec = (over: object = {}) => applyDefaults<KaiwoMonitorSpec>(specSchema, { kueue: over }).kueue;
const V = 'kueue.x-k8s.io/v1beta2';
function world(extra: Partial<Record<string, SourceView>> = {}): Record<string, SourceView> {
  return {
    deployments: view([deployment('kueue-system', 'kueue-controller-manager')]),
    leases: view([lease('kueue-system', 'c1f6bfd2.kueue.x-k8s.io', 2000)]),
    clusterQueues: view([clusterQueue('kaiwo')]),
    localQueues: view([localQueue('team-a', 'kaiwo', 'kaiwo')]),
    workloads: view([]),
    admissionChecks: view([]),
    multiKueueClusters: view([]),
    ...extra,
  };
}
const run = (data: Record<string, SourceView>, over: object = {}, now = NOW) =>
  kueueCheck.evaluate({ spec: spec(over), data, scrapes: {}, now, env: {} });

const cond = (type: string, status: string, reason: string, message = '', at = ago(3_600_000)) => ({
  type,
  status,
  reason,
  message,
  lastTransitionTime: at,
});
function admissionCheck(
  name: string,
  active?: { status: string; reason: string; message?: string },
  createdAgoMs = 86_400_000,
): KubeObject {
  return {
    apiVersion: V,
    kind: 'AdmissionCheck',
    metadata: { name, creationTimestamp: ago(createdAgoMs) },
    spec: { controllerName: 'kueue.x-k8s.io/multikueue' },
    status: active ? { conditions: [cond('Active', active.status, active.reason, active.message)] } : {},
  };
}
function gatedQueue(name: string, checks: { v1beta1?: string[]; strategy?: string[] }): KubeObject {
  const cq = clusterQueue(name, { active: false, reason: 'AdmissionCheckInactive' });
  Object.assign(cq.spec as object, {
    ...(checks.v1beta1 ? { admissionChecks: checks.v1beta1 } : {}),
    ...(checks.strategy ? { admissionChecksStrategy: { admissionChecks: checks.strategy.map((n) => ({ name: n })) } } : {}),
  });
  return cq;
}
const wl = (name: string, conditions: unknown[], extra: { spec?: object; status?: object } = {}): KubeObject => ({
  apiVersion: V,
  kind: 'Workload',
  metadata: { name, namespace: 'ml', creationTimestamp: ago(7_200_000) },
  spec: { queueName: 'kaiwo', podSets: [], ...(extra.spec ?? {}) },
  status: { conditions, ...(extra.status ?? {}) },
});
const reserved = (agoMs = 3_600_000) => cond('QuotaReserved', 'True', 'QuotaReserved', 'Quota reserved in ClusterQueue kaiwo', ago(agoMs));

describe('check: Kueue — admission checks, MultiKueue clusters and the Workload lifecycle', () => {
  it('reads the checks a ClusterQueue requires from v1beta1 admissionChecks and from admissionChecksStrategy, ignoring junk', () => {
    expect(admissionChecksOf(gatedQueue('q', { v1beta1: ['a', 'b'], strategy: ['b', 'c'] }))).to.deep.equal(['a', 'b', 'c']);
    const junk: KubeObject = {
      metadata: { name: 'j' },
      spec: { admissionChecks: [1, null, 'x'], admissionChecksStrategy: { admissionChecks: [null, 'y', { name: 2 }] } },
    };
    expect(admissionChecksOf(junk)).to.deep.equal(['x']);
    expect(admissionChecksOf({ metadata: { name: 'n' }, spec: { admissionChecksStrategy: null } })).to.deep.equal([]);
  });

  it('a required admission check that is not Active is Critical, names its controller, reason and the queues it stops, and is the condition reason', () => {
    const r = run(
      world({
        clusterQueues: view([
          clusterQueue('kaiwo'),
          gatedQueue('remote', { strategy: ['mk'] }),
          gatedQueue('remote-2', { v1beta1: ['mk'] }),
        ]),
        admissionChecks: view([
          admissionCheck('mk', { status: 'False', reason: 'NoUsableClusters', message: 'Inactive clusters: [worker1]' }),
        ]),
      }),
    );
    expect(r).to.include({ status: 'False', reason: 'AdmissionCheckInactive' });
    const f = r.findings.find((x) => x.reason === 'AdmissionCheckInactive');
    expect(f).to.deep.include({ severity: 'Critical', object: { apiVersion: V, kind: 'AdmissionCheck', name: 'mk' } });
    expect(f?.message).to.equal(
      'admission check mk (controller kueue.x-k8s.io/multikueue) is not Active (NoUsableClusters): Inactive clusters: [worker1]: ClusterQueues remote, remote-2 admit no Workloads',
    );
    // The queues' own findings stay, after the root cause.
    expect(r.findings.filter((x) => x.reason === 'ClusterQueueInactive').map((x) => x.object?.name)).to.deep.equal(['remote', 'remote-2']);
  });

  it('an inactive check no selected queue requires is not judged; an Active one is healthy', () => {
    const idle = run(world({ admissionChecks: view([admissionCheck('unused', { status: 'False', reason: 'BadConfig' })]) }));
    expect(idle).to.include({ status: 'True' });
    expect(idle.findings).to.deep.equal([]);
    const cq = clusterQueue('remote');
    Object.assign(cq.spec as object, { admissionChecksStrategy: { admissionChecks: [{ name: 'mk' }] } });
    const ok = run(
      world({ clusterQueues: view([cq]), admissionChecks: view([admissionCheck('mk', { status: 'True', reason: 'Active' })]) }),
    );
    expect(ok).to.include({ status: 'True' });
  });

  it('a new check not marked Active yet is a Warning for the grace, then Critical; an old one without any condition at once', () => {
    const fresh = admissionCheck('manual', undefined, 5000);
    (fresh.spec as Record<string, unknown>).controllerName = 'example.com/approval';
    recordObservation(fresh, { firstSeen: NOW.getTime() - 5000 });
    const data = world({ clusterQueues: view([gatedQueue('q', { strategy: ['manual'] })]), admissionChecks: view([fresh]) });
    const early = run(data);
    const w = early.findings.find((x) => x.reason === 'AdmissionCheckNotReady');
    expect(w?.severity).to.equal('Warning');
    expect(w?.message).to.include('(no Active condition: example.com/approval has not marked it)');
    expect(early.nextCheckAt?.getTime()).to.be.at.most(NOW.getTime() - 5000 + NEW_QUEUE_GRACE_MS);
    const late = run(data, {}, new Date(NOW.getTime() + NEW_QUEUE_GRACE_MS));
    expect(late.findings.find((x) => x.object?.name === 'manual')).to.deep.include({
      severity: 'Critical',
      reason: 'AdmissionCheckInactive',
    });
  });

  it('a MultiKueueCluster that is not connected is a Warning naming its reason; a connected one is nothing', () => {
    const mkc = (name: string, status: string, reason: string, message: string): KubeObject => ({
      apiVersion: V,
      kind: 'MultiKueueCluster',
      metadata: { name, creationTimestamp: ago(86_400_000) },
      status: { conditions: [cond('Active', status, reason, message)] },
    });
    const r = run(
      world({
        multiKueueClusters: view([
          mkc('worker1', 'False', 'BadConfig', 'secrets "worker1-secret" not found'),
          mkc('worker2', 'True', 'Active', 'Connected'),
        ]),
      }),
    );
    expect(r.findings).to.have.length(1);
    expect(r.findings[0]).to.deep.include({ severity: 'Warning', reason: 'MultiKueueClusterInactive' });
    expect(r.findings[0]?.message).to.equal(
      'MultiKueueCluster worker1 is not connected (BadConfig): secrets "worker1-secret" not found: MultiKueue dispatches no Workloads to it',
    );
  });

  it('works without the optional sources (forbidden, or a spec from before them)', () => {
    const data = world();
    delete data.admissionChecks;
    delete data.multiKueueClusters;
    expect(run(data)).to.include({ status: 'True' });
    const failed = (errorStatus: number): SourceView => ({ state: 'pending', objects: [], error: `HTTP ${errorStatus}`, errorStatus });
    expect(run(world({ admissionChecks: failed(403), multiKueueClusters: failed(429) }))).to.include({ status: 'True' });
    // Not yet listed and no error: waited for like any source.
    expect(run(world({ admissionChecks: { state: 'pending', objects: [] } }))).to.include({ status: 'Unknown', reason: 'NotObserved' });
  });

  it("names why Kueue deactivated a Workload: DeactivatedDueTo<cause>, else the cause's message, or a person's choice", () => {
    const ev = (reason: string, message: string) => wl('w', [cond('Evicted', 'True', reason, message)], { spec: { active: false } });
    expect(deactivationCause(ev('DeactivatedDueToRequeuingLimitExceeded', 'x'))).to.equal('RequeuingLimitExceeded');
    expect(
      deactivationCause(ev('Deactivated', 'The workload is deactivated due to exceeding the maximum number of re-queuing retries')),
    ).to.equal('RequeuingLimitExceeded');
    expect(deactivationCause(ev('Deactivated', 'The workload is deactivated due to exceeding the maximum execution time'))).to.equal(
      'MaximumExecutionTimeExceeded',
    );
    expect(deactivationCause(ev('Deactivated', 'The workload is deactivated due to Admission check(s): [prov], were rejected'))).to.equal(
      'AdmissionCheck',
    );
    expect(deactivationCause(ev('Deactivated', 'The workload is deactivated'))).to.equal('Deactivated');
    expect(deactivationCause(wl('w', [], { spec: { active: false } }))).to.equal('Deactivated');
    expect(deactivationCause(wl('w', [{ type: 'Evicted', status: 'True', reason: 7, message: null }]))).to.equal('Deactivated');
  });

  it('deactivated Workloads: one finding per cause naming at most a few; a person deactivating is counted, not reported', () => {
    const limit = Array.from({ length: MAX_NAMED + 2 }, (_, i) =>
      wl(`retry-${i}`, [cond('Evicted', 'True', 'DeactivatedDueToRequeuingLimitExceeded', '')], { spec: { active: false } }),
    );
    const mine = wl('paused', [cond('Evicted', 'True', 'Deactivated', 'The workload is deactivated')], { spec: { active: false } });
    const done = wl('done', [cond('Finished', 'True', 'Succeeded')], { spec: { active: false } });
    const r = run(world({ workloads: view([...limit, mine, done]) }));
    const f = r.findings.filter((x) => x.reason === 'RequeuingLimitExceeded');
    expect(f).to.have.length(1);
    expect(f[0]?.severity).to.equal('Warning');
    expect(f[0]?.message).to.match(
      /^7 Workloads deactivated by Kueue: exceeded the re-queuing limit .*: ml\/retry-0, ml\/retry-1, ml\/retry-2, ml\/retry-3, ml\/retry-4 \(\+2 more\); they stay inactive until spec.active is set to true$/,
    );
    expect(f[0]?.object).to.equal(undefined);
    expect(r.findings.some((x) => x.message.includes('paused'))).to.equal(false);
    expect(r.summary?.counts).to.include({ deactivatedWorkloads: 8 });
    const one = run(world({ workloads: view([limit[0]!]) }));
    expect(one.findings[0]?.object).to.deep.equal({ apiVersion: V, kind: 'Workload', namespace: 'ml', name: 'retry-0' });
  });

  it('an admission check holding Workloads with reserved quota in Pending or Retry past the bound: one Warning per check, re-evaluated when the next one comes due', () => {
    const waiting = (name: string, state: string, sinceMs: number) =>
      wl(name, [reserved(sinceMs)], { status: { admissionChecks: [{ name: 'approval', state, lastTransitionTime: ago(sinceMs) }] } });
    const ws = [waiting('a', 'Pending', 40 * 60_000), waiting('b', 'Retry', 35 * 60_000), waiting('c', 'Pending', 10 * 60_000)];
    // An admitted one and a Ready one are not waiting.
    ws.push(
      wl('d', [reserved(), cond('Admitted', 'True', 'Admitted')], {
        status: { admissionChecks: [{ name: 'approval', state: 'Pending', lastTransitionTime: ago(3_600_000) }] },
      }),
    );
    ws.push(
      wl('e', [reserved()], { status: { admissionChecks: [{ name: 'approval', state: 'Ready', lastTransitionTime: ago(3_600_000) }] } }),
    );
    const r = run(world({ workloads: view(ws) }));
    const f = r.findings.filter((x) => x.reason === 'AdmissionCheckStuck');
    expect(f).to.have.length(1);
    expect(f[0]).to.deep.include({
      severity: 'Warning',
      object: { apiVersion: V, kind: 'AdmissionCheck', name: 'approval' },
      since: ago(40 * 60_000).replace('Z', '.000Z'),
    });
    expect(f[0]?.message).to.equal(
      `admission check approval holds 2 Workloads with reserved quota in Pending or Retry (1 in Retry) longer than 30m: ml/a, ml/b; oldest since ${new Date(NOW.getTime() - 40 * 60_000).toISOString()}`,
    );
    // c comes due in 20 minutes.
    const next = new NextCheck(NOW);
    lifecycleFindings(foldWorkloads(ws.map(slimWorkload), [], undefined, [], V), '30m', V, NOW, next);
    expect(next.at).to.equal(NOW.getTime() + 20 * 60_000);
    expect(
      run(world({ workloads: view(ws) }), { maxAdmissionCheckWait: '1h' }).findings.some((x) => x.reason === 'AdmissionCheckStuck'),
    ).to.equal(false);
  });

  it('Workloads on nodes topology-aware scheduling marked unhealthy: one Warning naming the nodes and the Workloads', () => {
    const r = run(
      world({
        workloads: view([
          wl('a', [reserved()], { status: { unhealthyNodes: [{ name: 'gpu-7' }] } }),
          wl('b', [reserved()], { status: { unhealthyNodes: [{ name: 'gpu-7' }, { name: 'gpu-9' }, null, { name: 3 }] } }),
          wl('old', [cond('Finished', 'True', 'Succeeded')], { status: { unhealthyNodes: [{ name: 'gpu-1' }] } }),
        ]),
      }),
    );
    const f = r.findings.filter((x) => x.reason === 'WorkloadsOnUnhealthyNodes');
    expect(f).to.have.length(1);
    expect(f[0]?.message).to.equal(
      'topology-aware scheduling found 2 Workloads on unhealthy nodes gpu-7, gpu-9: ml/a, ml/b; Kueue replaces those nodes in the topology or evicts (NodeFailures)',
    );
    expect(f[0]?.object).to.equal(undefined);
  });

  it('evictions are counted by reason, most frequent first, in the FrequentEvictions message', () => {
    const evicted = (name: string, reason: string, agoMs: number) => wl(name, [cond('Evicted', 'True', reason, '', ago(agoMs))]);
    const ws = [
      evicted('a', 'Preempted', 60_000),
      evicted('b', 'Preempted', 60_000),
      evicted('c', 'PodsReadyTimeout', 60_000),
      evicted('d', 'Preempted', 3_600_000),
      workload('team-a', 'x', { evictedAgoMs: 1000 }),
    ];
    const r = run(world({ workloads: view(ws) }), { maxEvictions: 2 });
    expect(r.findings.find((x) => x.reason === 'FrequentEvictions')?.message).to.equal(
      '4 Workloads evicted in the last 15m (threshold 2): Preempted 3, PodsReadyTimeout 1',
    );
    expect(r.summary?.counts).to.include({ evictions: 4 });
  });

  it('the fold survives hostile Workload status fields through the projection', () => {
    const hostile = slimWorkload({
      metadata: { name: 'h', namespace: 'ml' },
      spec: { active: false },
      status: {
        conditions: [{ type: 'Evicted', status: 'True', reason: { x: 1 }, message: 5, lastTransitionTime: 'never' }, null],
        admissionChecks: [
          null,
          'x',
          { name: { a: 1 }, state: 'Pending', lastTransitionTime: ['x'] },
          ...Array.from({ length: 100 }, () => ({})),
        ],
        unhealthyNodes: 'gpu-1',
      },
    });
    expect((hostile.status as { admissionChecks: unknown[] }).admissionChecks).to.have.length(16);
    const fold = foldWorkloads([hostile], [], undefined, [], V);
    expect(fold.deactivated.get('Deactivated')).to.have.length(1);
    const next = new NextCheck(NOW);
    expect(lifecycleFindings(fold, '30m', V, NOW, next)).to.deep.equal([]);
  });
});
