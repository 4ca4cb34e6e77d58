import { expect } from 'chai';
import { applyDefaults } from '../../../src/api/defaults.js';
import { type KaiwoMonitorSpec, specSchema } from '../../../src/checks/registry.js';
import { operatorCheck } from '../../../src/checks/operator.js';
import type { SourceView } from '../../../src/checks/types.js';
import type { KubeObject } from '../../../src/runtime/objects.js';
import { ago, deployment, lease, NOW, view } from '../../support/fixtures.js';

const spec = applyDefaults<KaiwoMonitorSpec>(specSchema, {}).operator;
const queueConfig = (status: string): KubeObject => ({ apiVersion: 'kaiwo.silogen.ai/v1alpha1', kind: 'KaiwoQueueConfig', metadata: { name: 'kaiwo' }, status: { status } });
const pod = (name: string, c: object, ready = true): KubeObject => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'kaiwo-system' },
  status: { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }], containerStatuses: [{ name: 'manager', ready, ...c }] },
});

function healthy(): Record<string, SourceView> {
  return {
    deployments: view([deployment('kaiwo-system', 'kaiwo-controller-manager')]),
    pods: view([pod('kaiwo-1', { restartCount: 0 })]),
    leases: view([lease('kaiwo-system', '83fc2279.silogen.ai', 3000)]),
    queueConfigs: view([queueConfig('READY')]),
    scheduler: view([deployment('kube-system', 'kaiwo-scheduler')]),
  };
}
const run = (data: Record<string, SourceView>) => operatorCheck.evaluate({ spec, data, scrapes: {}, now: NOW, env: {} });

describe('check: Kaiwo operator', () => {
  it('is healthy with an available Deployment, a fresh Lease, kaiwo-scheduler and a READY KaiwoQueueConfig', () => {
    const r = run(healthy());
    expect(r).to.include({ status: 'True', reason: 'OperatorHealthy' });
    expect(r.summary?.display).to.equal('1/1 available');
    // Re-check exactly when the lease would expire: renewed 3 s ago, 15 s + 5 s grace.
    expect(r.nextCheckAt?.getTime()).to.equal(NOW.getTime() - 3000 + 20_000 + 1);
  });

  it('watches only what it needs: its namespace, its selector, single names', () => {
    const s = operatorCheck.sources(spec, {});
    expect(s.pods).to.include({ namespace: 'kaiwo-system', labelSelector: 'control-plane=kaiwo-controller-manager' });
    expect(s.deployments?.fieldSelector).to.equal('metadata.name=kaiwo-controller-manager');
    expect(s.leases?.fieldSelector).to.equal('metadata.name=83fc2279.silogen.ai');
  });

  it('is Unknown/KaiwoNotInstalled when neither the Deployment nor the Kaiwo CRDs exist', () => {
    const d = { ...healthy(), deployments: view([]), queueConfigs: view([], 'absent') };
    expect(run(d)).to.include({ status: 'Unknown', reason: 'KaiwoNotInstalled' });
  });

  it('goes False when the Deployment has no available replica', () => {
    const r = run({ ...healthy(), deployments: view([deployment('kaiwo-system', 'kaiwo-controller-manager', 0)]) });
    expect(r).to.include({ status: 'False', reason: 'DeploymentUnavailable' });
    expect(r.message).to.include('0 of 1 replicas available');
  });

  it('goes False when the leader Lease is stale, missing or unheld', () => {
    expect(run({ ...healthy(), leases: view([lease('kaiwo-system', '83fc2279.silogen.ai', 25_000)]) })).to.include({ status: 'False', reason: 'LeaderLeaseExpired' });
    expect(run({ ...healthy(), leases: view([]) })).to.include({ status: 'False', reason: 'NoLeader' });
    expect(run({ ...healthy(), leases: view([lease('kaiwo-system', '83fc2279.silogen.ai', 25_000, '')]) })).to.include({ status: 'False', reason: 'NoLeader' });
  });

  it('stays True while a released Lease (no holder, ReleaseOnCancel) is being handed over, within duration + grace', () => {
    expect(run({ ...healthy(), leases: view([lease('kaiwo-system', '83fc2279.silogen.ai', 1000, '', 1)]) })).to.include({ status: 'True' });
    expect(run({ ...healthy(), leases: view([lease('kaiwo-system', '83fc2279.silogen.ai', 7000, '', 1)]) })).to.include({ status: 'False', reason: 'NoLeader' });
  });

  it('reports CrashLoopBackOff, ImagePullBackOff, OOMKilled and restarts in the window as Warnings', () => {
    const pods = view([
      pod('a', { state: { waiting: { reason: 'CrashLoopBackOff' } }, restartCount: 5, lastState: { terminated: { reason: 'Error', exitCode: 1, finishedAt: ago(60_000) } } }, false),
      pod('b', { state: { waiting: { reason: 'ImagePullBackOff' } } }, false),
      pod('c', { restartCount: 1, lastState: { terminated: { reason: 'OOMKilled', exitCode: 137, finishedAt: ago(120_000) } } }),
      pod('d', { restartCount: 9, lastState: { terminated: { reason: 'Error', finishedAt: ago(3_600_000) } } }),
    ]);
    const r = run({ ...healthy(), pods });
    expect(r.status).to.equal('True');
    expect(r.findings.map((f) => f.reason).sort()).to.deep.equal(['CrashLoopBackOff', 'ImagePullBackOff', 'OOMKilled', 'PodNotReady', 'PodNotReady', 'Restarting']);
  });

  it('judges the KaiwoQueueConfig status: FAILED is Critical, empty is a Warning', () => {
    expect(run({ ...healthy(), queueConfigs: view([queueConfig('FAILED')]) })).to.include({ status: 'False', reason: 'QueueConfigFailed' });
    const empty = run({ ...healthy(), queueConfigs: view([queueConfig('')]) });
    expect(empty.status).to.equal('True');
    expect(empty.findings[0]?.reason).to.equal('QueueConfigNotReady');
  });

  it('treats a missing kaiwo-scheduler as a Warning and an unavailable one as Critical', () => {
    expect(run({ ...healthy(), scheduler: view([]) }).findings[0]).to.include({ reason: 'DeploymentNotFound', severity: 'Warning' });
    expect(run({ ...healthy(), scheduler: view([deployment('kube-system', 'kaiwo-scheduler', 0)]) })).to.include({ status: 'False', reason: 'DeploymentUnavailable' });
  });
});
