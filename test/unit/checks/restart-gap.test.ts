import { expect } from 'chai';
import { applyDefaults } from '../../../src/api/defaults.js';
import { kueueCheck } from '../../../src/checks/kueue.js';
import { operatorCheck } from '../../../src/checks/operator.js';
import { type KaiwoMonitorSpec, specSchema } from '../../../src/checks/registry.js';
import type { SourceView } from '../../../src/checks/types.js';
import type { KubeObject } from '../../../src/runtime/objects.js';
import { clusterQueue, lease, NOW, view } from '../../support/fixtures.js';

const spec = applyDefaults<KaiwoMonitorSpec>(specSchema, {});

/** A Deployment mid-rollout (RollingUpdate, maxSurge 1, maxUnavailable 0): new pod up, old one going. */
const rolling = (namespace: string, name: string): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace, generation: 2 },
  spec: { replicas: 1 },
  status: { observedGeneration: 2, replicas: 2, updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1, unavailableReplicas: 1 },
});
const pod = (namespace: string, name: string, opts: { ready: boolean; deleting?: boolean }): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace, ...(opts.deleting ? { deletionTimestamp: NOW.toISOString() } : {}) },
  status: {
    phase: 'Running',
    conditions: [{ type: 'Ready', status: opts.ready ? 'True' : 'False' }],
    containerStatuses: [{ name: 'manager', ready: opts.ready, restartCount: 0 }],
  },
});

/**
 * controller-runtime does not release its Lease on shutdown (LeaderElectionReleaseOnCancel unset), so during a
 * rolling restart the Lease keeps the old holder until it expires and the new pod's next retry (2 s) takes it:
 * up to 17 s without a renewal. The default grace (5 s over the 15 s lease) must cover that.
 */
describe('a controller restart gap (no Lease release, the new pod waits the Lease out)', () => {
  const operatorData = (renewedAgoMs: number): Record<string, SourceView> => ({
    deployments: view([rolling('kaiwo-system', 'kaiwo-controller-manager')]),
    pods: view([pod('kaiwo-system', 'kaiwo-old', { ready: true, deleting: true }), pod('kaiwo-system', 'kaiwo-new', { ready: true })]),
    leases: view([lease('kaiwo-system', '83fc2279.silogen.ai', renewedAgoMs, 'kaiwo-old_1234')]),
    queueConfigs: view([{ metadata: { name: 'kaiwo' }, status: { status: 'READY' } }]),
    scheduler: view([
      { metadata: { name: 'kaiwo-scheduler', namespace: 'kube-system' }, spec: { replicas: 1 }, status: { availableReplicas: 1 } },
    ]),
  });
  const kueueData = (renewedAgoMs: number): Record<string, SourceView> => ({
    deployments: view([rolling('kueue-system', 'kueue-controller-manager')]),
    pods: view([pod('kueue-system', 'kueue-new', { ready: false })]),
    leases: view([lease('kueue-system', 'c1f6bfd2.kueue.x-k8s.io', renewedAgoMs, 'kueue-old_1234')]),
    clusterQueues: view([clusterQueue('kaiwo')]),
    localQueues: view([]),
    workloads: view([]),
  });
  const op = (ms: number) => operatorCheck.evaluate({ spec: spec.operator, data: operatorData(ms), scrapes: {}, now: NOW, env: {} });
  const kueue = (ms: number) => kueueCheck.evaluate({ spec: spec.kueue, data: kueueData(ms), scrapes: {}, now: NOW, env: {} });

  it('raises no Critical 17 s after the last renewal (15 s lease + one 2 s retry), for Kaiwo and Kueue', () => {
    for (const r of [op(17_500), kueue(17_500)]) {
      expect(r.status).to.equal('True');
      expect(r.findings.filter((f) => f.severity === 'Critical')).to.deep.equal([]);
      // ...and looks again right when the grace would run out.
      expect(r.nextCheckAt?.getTime()).to.equal(NOW.getTime() - 17_500 + 20_000 + 1);
    }
    expect(
      kueue(17_500).findings.map((f) => f.reason),
      'the new pod not Ready yet is a Warning',
    ).to.deep.equal(['PodNotReady']);
  });

  it('goes False once the Lease is older than lease + grace (20 s): no new leader took over', () => {
    expect(op(20_500)).to.include({ status: 'False', reason: 'LeaderLeaseExpired' });
    expect(kueue(20_500)).to.include({ status: 'False', reason: 'LeaderLeaseExpired' });
  });
});
