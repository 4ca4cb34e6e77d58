import { expect } from 'chai';
import { applyDefaults } from '../../../src/api/defaults.js';
import { type KaiwoMonitorSpec, specSchema } from '../../../src/checks/registry.js';
import { kueueCheck, NEW_QUEUE_GRACE_MS } from '../../../src/checks/kueue.js';
import { recordObservation } from '../../../src/runtime/observed.js';
import type { SourceView } from '../../../src/checks/types.js';
import type { KubeObject } from '../../../src/runtime/objects.js';
import { clusterQueue, deployment, lease, localQueue, NOW, view, workload } from '../../support/fixtures.js';

const spec = (over: object = {}) => applyDefaults<KaiwoMonitorSpec>(specSchema, { kueue: over }).kueue;
const envOf = (apiVersion?: string) => (apiVersion ? { storageVersion: apiVersion } : {});
function healthy(extra: Partial<Record<string, SourceView>> = {}): Record<string, SourceView> {
  return {
    deployments: view([deployment('kueue-system', 'kueue-controller-manager')]),
    leases: view([lease('kueue-system', 'c1f6bfd2.kueue.x-k8s.io', 2000)]),
    clusterQueues: view([clusterQueue('kaiwo')]),
    localQueues: view([localQueue('team-a', 'kaiwo', 'kaiwo')]),
    workloads: view([workload('team-a', 'job-1', { reserved: true })]),
    ...extra,
  };
}
const run = (data: Record<string, SourceView>, over: object = {}, apiVersion?: string) =>
  kueueCheck.evaluate({ spec: spec(over), data, scrapes: {}, now: NOW, env: envOf(apiVersion) });

describe('check: Kueue', () => {
  it('is healthy with an active ClusterQueue, the controller available and its Lease fresh', () => {
    const r = run(healthy());
    expect(r).to.include({ status: 'True', reason: 'KueueHealthy' });
    expect(r.summary?.display).to.equal('1/1 CQ active');
  });

  it('reads the API version the server stores: v1beta2 by default, v1beta1 for Kueue ≤ 0.15', () => {
    expect(kueueCheck.sources(spec(), {}).clusterQueues?.apiVersion).to.equal('kueue.x-k8s.io/v1beta2');
    expect(kueueCheck.sources(spec(), envOf('v1beta1')).workloads?.apiVersion).to.equal('kueue.x-k8s.io/v1beta1');
    // v1beta1 objects (cohort instead of cohortName, flavorUsage on LocalQueues) are read the same way.
    const v1 = (o: KubeObject): KubeObject => ({ ...o, apiVersion: 'kueue.x-k8s.io/v1beta1' });
    const cq = v1(clusterQueue('kaiwo', { active: false, reason: 'FlavorNotFound' }));
    (cq.spec as Record<string, unknown>).cohort = 'kaiwo';
    const r = run(healthy({ clusterQueues: view([cq]), localQueues: view([v1(localQueue('team-a', 'kaiwo', 'kaiwo'))]) }), {}, 'v1beta1');
    expect(r).to.include({ status: 'False', reason: 'ClusterQueueInactive' });
    expect(r.findings[0]?.object?.apiVersion).to.equal('kueue.x-k8s.io/v1beta1');
  });

  it('is Unknown/KueueNotInstalled when the Kueue API is not served', () => {
    expect(run(healthy({ clusterQueues: view([], 'absent') }))).to.include({ status: 'Unknown', reason: 'KueueNotInstalled' });
  });

  it('goes False for an inactive ClusterQueue, with its reason', () => {
    const r = run(healthy({ clusterQueues: view([clusterQueue('kaiwo', { active: false, reason: 'Stopped' })]) }));
    expect(r).to.include({ status: 'False', reason: 'ClusterQueueInactive' });
    expect(r.message).to.include('ClusterQueue kaiwo is inactive (Stopped)');
  });

  it('a new ClusterQueue not Active yet (not reconciled, or its flavors come next) is a Warning for 30s, then Critical; an old one at once', () => {
    const young = (o: KubeObject, seenAgoMs: number, createdAgoMs = seenAgoMs): KubeObject => {
      o.metadata.creationTimestamp = new Date(NOW.getTime() - createdAgoMs).toISOString();
      recordObservation(o, { firstSeen: NOW.getTime() - seenAgoMs });
      return o;
    };
    const unreconciled = () => {
      const cq = clusterQueue('kaiwo');
      delete (cq as { status?: unknown }).status;
      return cq;
    };
    const r = run(healthy({ clusterQueues: view([young(unreconciled(), 5000)]) }));
    expect(r.status).to.equal('True');
    expect(r.findings.map((f) => `${f.severity}/${f.reason}`)).to.deep.equal(['Warning/ClusterQueueNotReady']);
    expect(r.nextCheckAt?.getTime()).to.be.at.most(NOW.getTime() - 5000 + NEW_QUEUE_GRACE_MS);
    const recreated = run(
      healthy({ clusterQueues: view([young(clusterQueue('kaiwo', { active: false, reason: 'FlavorNotFound' }), 2000)]) }),
    );
    expect(recreated.status).to.equal('True');
    expect(recreated.findings[0]?.message).to.include('new ClusterQueue kaiwo is not Active yet (FlavorNotFound');
    const late = run(healthy({ clusterQueues: view([young(unreconciled(), NEW_QUEUE_GRACE_MS)]) }));
    expect(late).to.include({ status: 'False', reason: 'ClusterQueueInactive' });
    expect(late.message).to.include('no Active condition: Kueue has not reconciled it');
    // A new queue that is stopped (stopPolicy) is meant so: Critical at once.
    expect(run(healthy({ clusterQueues: view([young(clusterQueue('kaiwo', { active: false, reason: 'Stopped' }), 2000)]) }))).to.include({
      status: 'False',
      reason: 'ClusterQueueInactive',
    });
    // A monitor that restarts sees an old inactive queue for the first time: Critical at once, no flap.
    const old = run(
      healthy({ clusterQueues: view([young(clusterQueue('kaiwo', { active: false, reason: 'FlavorNotFound' }), 0, 3_600_000)]) }),
    );
    expect(old).to.include({ status: 'False', reason: 'ClusterQueueInactive' });
    // A creation time in the future (a skewed server clock) holds the verdict back no longer than the local grace.
    const skewed = run(
      healthy({
        clusterQueues: view([young(clusterQueue('kaiwo', { active: false, reason: 'FlavorNotFound' }), NEW_QUEUE_GRACE_MS, -86_400_000)]),
      }),
    );
    expect(skewed).to.include({ status: 'False', reason: 'ClusterQueueInactive' });
  });

  it('goes False when the oldest pending Workload of a ClusterQueue passes maxPendingAge, and asks to be re-checked before', () => {
    const young = run(healthy({ workloads: view([workload('team-a', 'w1', { createdAgoMs: 10 * 60_000 })]) }));
    expect(young.status).to.equal('True');
    expect(young.nextCheckAt?.getTime()).to.be.at.most(NOW.getTime() + 20 * 60_000);
    const lateData = healthy({
      workloads: view([workload('team-a', 'w1', { createdAgoMs: 10 * 60_000 })]),
      leases: view([lease('kueue-system', 'c1f6bfd2.kueue.x-k8s.io', 2000, 'x', 15, new Date(NOW.getTime() + 20 * 60_000))]),
    });
    const late = kueueCheck.evaluate({ spec: spec(), data: lateData, scrapes: {}, now: new Date(NOW.getTime() + 20 * 60_000), env: {} });
    expect(late).to.include({ status: 'False', reason: 'WorkloadPendingTooLong' });
    const old = run(
      healthy({
        workloads: view([workload('team-a', 'w1', { createdAgoMs: 10 * 60_000 }), workload('team-a', 'w2', { createdAgoMs: 45 * 60_000 })]),
      }),
    );
    expect(old).to.include({ status: 'False', reason: 'WorkloadPendingTooLong' });
    expect(old.findings.find((f) => f.reason === 'WorkloadPendingTooLong')?.object?.name).to.equal('w2');
  });

  it('warns about backlogs, near-exhausted quota, inactive LocalQueues, evictions and rejected admission checks', () => {
    const evicted = Array.from({ length: 6 }, (_, i) => workload('team-a', `e${i}`, { reserved: true, evictedAgoMs: 60_000 }));
    const r = run(
      healthy({
        clusterQueues: view([clusterQueue('kaiwo', { pending: 150, gpuQuota: 16, gpuUsed: 16 })]),
        localQueues: view([localQueue('team-a', 'kaiwo', 'kaiwo'), localQueue('team-b', 'kaiwo', 'gone', false)]),
        workloads: view([...evicted, workload('team-a', 'r', { reserved: true, rejected: true })]),
      }),
    );
    expect(r.status).to.equal('True');
    expect(r.findings.map((f) => f.reason).sort()).to.deep.equal([
      'AdmissionCheckRejected',
      'FrequentEvictions',
      'LocalQueueInactive',
      'PendingBacklog',
      'QuotaNearlyExhausted',
    ]);
  });

  it('strips pod templates from cached Workloads', () => {
    const t = kueueCheck.sources(spec(), {}).workloads?.transform;
    const slim = t?.(workload('a', 'b'));
    expect(JSON.stringify(slim)).to.not.include('containers');
    expect((slim?.spec as { queueName: string }).queueName).to.equal('kaiwo');
  });
});
