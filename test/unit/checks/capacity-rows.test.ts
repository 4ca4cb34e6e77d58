import { expect } from 'chai';
import { active, quotaRows, topReason, topReasons } from '../../../src/checks/capacity-rows.js';
import { clusterQueue, row, usageOf } from '../../support/capacity-fixtures.js';

const AMD = 'amd.com/gpu';
const NVIDIA = 'nvidia.com/gpu';

describe('capacity step: quota rows (what the ClusterQueues promise)', () => {
  it('makes one row per ClusterQueue × flavor × compared resource, in flavor order, with what is reserved', () => {
    const team = clusterQueue('team', {
      cohort: 'all',
      flavors: [
        {
          name: 'mi300x',
          resources: [
            { name: AMD, nominal: 16, borrowingLimit: 8 },
            { name: 'cpu', nominal: 96 },
          ],
        },
        { name: 'mi250', resources: [{ name: AMD, nominal: '4' }] },
      ],
      reserved: { mi300x: { [AMD]: 12 } },
    });
    const q = quotaRows([team], new Set([AMD]));
    expect(q.rows.map((r) => [r.cq, r.flavor, r.resource, r.cohort, r.nominal, r.borrowingLimit, r.promised, r.inUse])).to.deep.equal([
      ['team', 'mi300x', AMD, 'all', 16, 8, 24, 12],
      ['team', 'mi250', AMD, 'all', 4, undefined, 4, 0],
    ]);
    expect(q.byQueue.get(`team|${AMD}`)?.map((r) => r.flavor)).to.deep.equal(['mi300x', 'mi250']);
    expect(q.queues.get('team')).to.equal(team);
    expect(q.rows[0]).to.include({ pending: 0, pendingWorkloads: 0, minNeed: Infinity, why: '' });
  });

  it('reads the older flavorsUsage and the v1beta1 cohort field', () => {
    const old = clusterQueue('old', {
      v: 'v1beta1',
      usageOnly: true,
      cohort: 'c',
      flavors: [{ name: 'f', resources: [{ name: NVIDIA, nominal: 8 }] }],
      reserved: { f: { [NVIDIA]: 3 } },
    });
    expect(quotaRows([old], new Set([AMD, NVIDIA])).rows[0]).to.include({ cohort: 'c', inUse: 3 });
  });

  it('survives a ClusterQueue without spec or status', () => {
    expect(quotaRows([{ metadata: { name: 'bare' } }], new Set([AMD]))).to.deep.include({ rows: [] });
  });

  it('active: a row that promises, holds or waits for something', () => {
    expect(active(row('q', 'f'))).to.equal(false);
    expect([
      active(row('q', 'f', { promised: 1 })),
      active(row('q', 'f', { inUse: 1 })),
      active(row('q', 'f', { pending: 1 })),
    ]).to.deep.equal([true, true, true]);
  });
});

describe('capacity step: flavor usage and free quota', () => {
  it('sums what is in use on a flavor over all queues', () => {
    const u = usageOf([row('a', 'f', { inUse: 8 }), row('b', 'f', { inUse: 4 }), row('c', 'g', { inUse: 1 })]);
    expect([...u.inUse]).to.deep.equal([
      [`f|${AMD}`, 12],
      [`g|${AMD}`, 1],
    ]);
  });

  it('without a cohort: the nominal quota left (a borrowing limit adds nothing: there is nobody to borrow from)', () => {
    const u = usageOf([row('a', 'f', { nominal: 16, inUse: 10 }), row('b', 'f', { nominal: 4, borrowingLimit: 4, inUse: 6 })]);
    expect(u.quotaFree(row('a', 'f', { nominal: 16, inUse: 10 }))).to.equal(6);
    expect(u.quotaFree(row('b', 'f', { nominal: 4, borrowingLimit: 4, inUse: 6 }))).to.equal(0);
  });

  it('in a cohort: its own quota plus the borrowing limit (unlimited without one), bounded by what the cohort has left', () => {
    const a = row('a', 'f', { cohort: 'c', nominal: 8, inUse: 8 });
    const b = row('b', 'f', { cohort: 'c', nominal: 8, inUse: 2 });
    const limited = row('l', 'f', { cohort: 'c', nominal: 8, borrowingLimit: 1, inUse: 8 });
    const u = usageOf([a, b, limited]);
    expect(u.quotaFree(a)).to.equal(6); // the cohort has 24 nominal - 18 in use = 6 left
    expect(u.quotaFree(limited)).to.equal(1);
  });
});

describe('capacity step: Kueue reasons of a row', () => {
  const r = row('q', 'f', {
    reasons: new Map([
      ['WaitingForQuota', { workloads: 2, gpus: 16, message: 'insufficient quota' }],
      ['NoMatchingFlavor', { workloads: 1, gpus: 4, message: '' }],
      ['Pending', { workloads: 1, gpus: 16, message: '' }],
    ]),
  });

  it('topReasons: the reasons with the most GPUs, ties by name', () => {
    expect(topReasons(r)).to.equal('Pending ×1; WaitingForQuota ×2: insufficient quota');
    expect(topReasons(r, 3)).to.equal('Pending ×1; WaitingForQuota ×2: insufficient quota; NoMatchingFlavor ×1');
  });

  it('topReason: the first reason with the most GPUs; none without pending demand', () => {
    expect(topReason(r)).to.equal('WaitingForQuota');
    expect(topReason(row('q', 'f'))).to.equal('');
  });
});
