import { expect } from 'chai';
import { applyDefaults } from '../../../src/api/defaults.js';
import { type KaiwoMonitorSpec, specSchema } from '../../../src/checks/registry.js';
import { operatorCheck } from '../../../src/checks/operator.js';
import type { SourceView } from '../../../src/checks/types.js';
import type { KubeObject } from '../../../src/runtime/objects.js';
import { recordObservation } from '../../../src/runtime/observed.js';
import { ago, deployment, lease, NOW, view } from '../../support/fixtures.js';

const spec = applyDefaults<KaiwoMonitorSpec>(specSchema, {}).operator;
const queueConfig = (status: string): KubeObject => ({
  apiVersion: 'kaiwo.silogen.ai/v1alpha1',
  kind: 'KaiwoQueueConfig',
  metadata: { name: 'kaiwo' },
  status: { status },
});
const pod = (name: string, c: object, ready = true): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'kaiwo-system' },
  status: {
    phase: 'Running',
    conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
    containerStatuses: [{ name: 'manager', ready, ...c }],
  },
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
    expect(run({ ...healthy(), leases: view([lease('kaiwo-system', '83fc2279.silogen.ai', 25_000)]) })).to.include({
      status: 'False',
      reason: 'LeaderLeaseExpired',
    });
    expect(run({ ...healthy(), leases: view([]) })).to.include({ status: 'False', reason: 'NoLeader' });
    expect(run({ ...healthy(), leases: view([lease('kaiwo-system', '83fc2279.silogen.ai', 25_000, '')]) })).to.include({
      status: 'False',
      reason: 'NoLeader',
    });
  });

  it('stays True while a released Lease (no holder, ReleaseOnCancel) is being handed over, within duration + grace', () => {
    expect(run({ ...healthy(), leases: view([lease('kaiwo-system', '83fc2279.silogen.ai', 1000, '', 1)]) })).to.include({ status: 'True' });
    expect(run({ ...healthy(), leases: view([lease('kaiwo-system', '83fc2279.silogen.ai', 7000, '', 1)]) })).to.include({
      status: 'False',
      reason: 'NoLeader',
    });
  });

  it('reports CrashLoopBackOff, ImagePullBackOff, OOMKilled and restarts in the window as Warnings', () => {
    const pods = view([
      pod(
        'a',
        {
          state: { waiting: { reason: 'CrashLoopBackOff' } },
          restartCount: 5,
          lastState: { terminated: { reason: 'Error', exitCode: 1, finishedAt: ago(60_000) } },
        },
        false,
      ),
      pod('b', { state: { waiting: { reason: 'ImagePullBackOff' } } }, false),
      pod('c', { restartCount: 1, lastState: { terminated: { reason: 'OOMKilled', exitCode: 137, finishedAt: ago(120_000) } } }),
      pod('d', { restartCount: 9, lastState: { terminated: { reason: 'Error', finishedAt: ago(3_600_000) } } }),
    ]);
    const r = run({ ...healthy(), pods });
    expect(r.status).to.equal('True');
    expect(r.findings.map((f) => f.reason).sort()).to.deep.equal([
      'CrashLoopBackOff',
      'ImagePullBackOff',
      'OOMKilled',
      'PodNotReady',
      'PodNotReady',
      'Restarting',
    ]);
  });

  it('judges the KaiwoQueueConfig status: READY is fine, empty is a Warning', () => {
    expect(run(healthy()).findings).to.deep.equal([]);
    const empty = run({ ...healthy(), queueConfigs: view([queueConfig('')]) });
    expect(empty.status).to.equal('True');
    expect(empty.findings[0]?.reason).to.equal('QueueConfigNotReady');
  });

  describe('a FAILED KaiwoQueueConfig (Kaiwo shows FAILED for a moment during normal syncs; no timestamp in its status)', () => {
    /** A FAILED KaiwoQueueConfig as the informer caches it: first seen and (optionally) seen to change, ms before NOW. */
    const failed = (firstSeenAgoMs: number, changedAgoMs?: number): KubeObject => {
      const qc = queueConfig('FAILED');
      recordObservation(qc, {
        firstSeen: NOW.getTime() - firstSeenAgoMs,
        ...(changedAgoMs !== undefined ? { changedAt: NOW.getTime() - changedAgoMs } : {}),
      });
      return qc;
    };
    const withQc = (qc: KubeObject) => run({ ...healthy(), queueConfigs: view([qc]) });

    it('is a Warning while it is younger than queueConfigFailedGrace (30s), and asks to be re-checked when the grace ends', () => {
      const r = withQc(failed(600_000, 20_000));
      expect(r).to.include({ status: 'True', reason: 'OperatorHealthy' });
      expect(r.findings).to.have.length(1);
      expect(r.findings[0]).to.include({ severity: 'Warning', reason: 'QueueConfigFailed', since: ago(20_000) });
      expect(r.findings[0]?.message).to.match(/Critical if it lasts 30s/);
      // The grace (changed 20 s ago + 30 s) ends before the Lease would expire (renewed 3 s ago + 15 s + 5 s).
      expect(r.nextCheckAt?.getTime()).to.equal(NOW.getTime() - 20_000 + 30_000);
    });

    it('is Critical once it has lasted the grace (by the local time it was seen to change, not a remote clock)', () => {
      const r = withQc(failed(600_000, 30_000));
      expect(r).to.include({ status: 'False', reason: 'QueueConfigFailed' });
      expect(r.findings[0]).to.include({ severity: 'Critical', since: ago(30_000) });
      expect(r.message).to.equal(
        `KaiwoQueueConfig kaiwo is FAILED: Kaiwo could not sync its ClusterQueues/ResourceFlavors (see its Events), since ${ago(30_000)} (longer than 30s)`,
      );
    });

    it('after a restart of the monitor (already FAILED at the first list) counts from the first sighting: no Critical before the grace', () => {
      const fresh = withQc(failed(25_000));
      expect(fresh.status).to.equal('True');
      expect(fresh.findings[0]).to.include({ severity: 'Warning', reason: 'QueueConfigFailed' });
      expect(fresh.nextCheckAt?.getTime()).to.equal(NOW.getTime() - 25_000 + 30_000);
      expect(withQc(failed(31_000)).status).to.equal('False');
    });

    it('without an observation (not from an informer) starts the grace now, and a grace of 0s makes FAILED Critical at once', () => {
      expect(withQc(queueConfig('FAILED')).status).to.equal('True');
      const s0 = { ...spec, queueConfigFailedGrace: '0s' };
      const r = operatorCheck.evaluate({
        spec: s0,
        data: { ...healthy(), queueConfigs: view([queueConfig('FAILED')]) },
        scrapes: {},
        now: NOW,
        env: {},
      });
      expect(r).to.include({ status: 'False', reason: 'QueueConfigFailed' });
    });

    it('defaults the grace to 30s', () => {
      expect(spec.queueConfigFailedGrace).to.equal('30s');
    });
  });

  it('treats a missing kaiwo-scheduler as a Warning and an unavailable one as Critical', () => {
    expect(run({ ...healthy(), scheduler: view([]) }).findings[0]).to.include({ reason: 'DeploymentNotFound', severity: 'Warning' });
    expect(run({ ...healthy(), scheduler: view([deployment('kube-system', 'kaiwo-scheduler', 0)]) })).to.include({
      status: 'False',
      reason: 'DeploymentUnavailable',
    });
  });
});
