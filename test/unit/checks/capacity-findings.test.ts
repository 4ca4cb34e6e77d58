import { expect } from 'chai';
import { kaiwoConfigFindings, rowFindings, tooLargeFindings } from '../../../src/checks/capacity-findings.js';
import type { CapacityRow } from '../../../src/checks/capacity-rows.js';
import { kaiwoSettings } from '../../../src/checks/kaiwo-config.js';
import { row, rowInput, supply, workload } from '../../support/capacity-fixtures.js';

const AMD = 'amd.com/gpu';
const KEY = `mi300x|${AMD}`;
const LOST = supply({ matched: 2, reporting: 2, healthy: 8, lost: 8, lostOn: [{ name: 'gpu-1', gpus: 8, why: 'NotReady' }] });
const TWO = supply({ matched: 2, reporting: 2, healthy: 16 });

const pendingRow = (over: Partial<CapacityRow>) =>
  row('team', 'mi300x', {
    pending: 8,
    pendingWorkloads: 1,
    minNeed: 8,
    reasons: new Map([['WaitingForQuota', { workloads: 1, gpus: 8, message: 'insufficient unused quota' }]]),
    ...over,
  });
const reasons = (fs: { severity: string; reason: string }[]) => fs.map((f) => `${f.severity}:${f.reason}`);

describe('capacity step: findings per row', () => {
  it('a row with nothing pending on hardware that holds its promise is ok', () => {
    const r = row('team', 'mi300x', { nominal: 16, promised: 16, inUse: 8 });
    expect(rowFindings(rowInput([r], TWO))).to.deep.equal([]);
    expect(r.why).to.equal('ok');
  });

  it('QuotaExceedsHealthyCapacity (Warning) for a promise beyond the healthy GPUs, unless the flavor was judged already', () => {
    const r = row('team', 'mi300x', { nominal: 8, borrowingLimit: 8, promised: 16 });
    const fs = rowFindings(rowInput([r], LOST));
    expect(reasons(fs)).to.deep.equal(['Warning:QuotaExceedsHealthyCapacity']);
    expect(fs[0]?.object).to.deep.include({ kind: 'ClusterQueue', name: 'team' });
    expect(fs[0]?.message).to.equal(
      "ClusterQueue team, flavor mi300x: promises 16 amd.com/gpu (nominal 8 + borrowing limit 8) but the flavor's nodes have 8 healthy " +
        '(8 lost on gpu-1 (NotReady)): Workloads admitted beyond that sit with Pending pods',
    );
    expect(r.why).to.equal('over-promised');
    expect(rowFindings(rowInput([row('team', 'mi300x', { promised: 16 })], LOST, [KEY]))).to.deep.equal([]);
  });

  it("PendingOnQuota when healthy GPUs are free but the queue's quota is not", () => {
    const r = pendingRow({ nominal: 8, promised: 8, inUse: 8 });
    const fs = rowFindings(rowInput([r], TWO));
    expect(reasons(fs)).to.deep.equal(['Warning:PendingOnQuota']);
    expect(fs[0]?.message).to.equal(
      'ClusterQueue team, flavor mi300x: 1 pending Workload need 8 amd.com/gpu; 8 healthy GPUs are free but the quota is exhausted ' +
        '(8 in use of nominal 8): a policy limit, not hardware (Kueue: WaitingForQuota ×1: insufficient unused quota)',
    );
    expect(r.why).to.equal('quota');
  });

  it('PendingOnLostCapacity when the demand would fit if the lost GPUs were healthy', () => {
    const r = pendingRow({ nominal: 8, promised: 8, inUse: 8 });
    const fs = rowFindings(rowInput([r], LOST));
    expect(reasons(fs)).to.deep.equal(['Critical:PendingOnLostCapacity']);
    expect(fs[0]?.message).to.contain(
      '0 healthy GPUs free (8 healthy, 8 in use) and 8 lost on gpu-1 (NotReady): they would fit if the lost GPUs were healthy',
    );
    expect(r.why).to.equal('lost GPUs');
  });

  it('no finding, only a why, when Kueue would admit it (its reason), nothing fits any node, or the hardware is simply full', () => {
    const free = pendingRow({ nominal: 16, promised: 16 });
    const huge = pendingRow({ nominal: 16, promised: 16, minNeed: Infinity });
    const full = pendingRow({ nominal: 16, promised: 16, inUse: 16 });
    expect(rowFindings(rowInput([free], TWO))).to.deep.equal([]);
    expect(rowFindings(rowInput([huge], TWO))).to.deep.equal([]);
    expect(rowFindings(rowInput([full], TWO))).to.deep.equal([]);
    expect([free.why, huge.why, full.why]).to.deep.equal(['WaitingForQuota', 'too large', 'capacity']);
  });

  it('skips rows whose flavor has no reporting nodes (the flavor findings cover them)', () => {
    expect(rowFindings(rowInput([pendingRow({ promised: 8 })], supply({ reporting: 0 })))).to.deep.equal([]);
  });
});

describe('capacity step: Workloads too large for any node, and KaiwoConfig', () => {
  it('one Warning per queue × resource, on the Workload that asks most per pod', () => {
    const w = (name: string) => workload('ml', name);
    const fs = tooLargeFindings(
      new Map([
        [
          `team|${AMD}`,
          {
            cq: 'team',
            resource: AMD,
            largest: 8,
            workloads: [
              { w: w('a'), perPod: 12 },
              { w: w('b'), perPod: 16 },
            ],
          },
        ],
      ]),
      'kueue.x-k8s.io/v1beta2',
    );
    expect(reasons(fs)).to.deep.equal(['Warning:WorkloadTooLargeForAnyNode']);
    expect(fs[0]?.object).to.deep.include({ kind: 'Workload', namespace: 'ml', name: 'b' });
    expect(fs[0]?.message).to.equal(
      '2 Workloads in ClusterQueue team ask more amd.com/gpu per pod than any node of its flavors has (largest 8): ' +
        'ml/a (12/pod), ml/b (16/pod); they can never start — split them into more pods',
    );
  });

  it('KaiwoConfigUnreadable only when the KaiwoConfig list failed', () => {
    expect(kaiwoConfigFindings(kaiwoSettings(undefined))).to.deep.equal([]);
    expect(reasons(kaiwoConfigFindings(kaiwoSettings({ state: 'pending', objects: [], error: 'forbidden' })))).to.deep.equal([
      'Info:KaiwoConfigUnreadable',
    ]);
  });
});
