import { expect } from 'chai';
import { CAPACITY_METRIC, capacityGauges, flavorTotals, summarize, tableOf, waitingOf } from '../../../src/checks/capacity-summary.js';
import { row, supply } from '../../support/capacity-fixtures.js';

const AMD = 'amd.com/gpu';
const LOST = supply({
  matched: 2,
  reporting: 2,
  healthy: 8,
  lost: 8,
  lostOn: [{ name: 'gpu-1', gpus: 8, why: 'maintenance', taint: { key: 'maintenance', value: '', effect: 'NoSchedule' } }],
});
const supplies = new Map([
  [`a|${AMD}`, LOST],
  [`b|${AMD}`, supply({ reporting: 0, healthy: 0, maxPerNode: 0 })],
]);
const waiting = new Map([['WaitingForQuota', { workloads: 1, gpus: 8, message: '' }]]);

describe('capacity step: summary', () => {
  it('waitingOf: the oldest pending Workload of each ClusterQueue, oldest first, with a one-line cause', () => {
    const old = (workload: string, createdMs: number, fits = true) => ({
      workload,
      createdMs,
      since: new Date(createdMs).toISOString(),
      reason: 'WaitingForQuota',
      fits,
    });
    const rows = [
      row('busy', 'a', { pending: 16, pendingWorkloads: 2, why: 'lost GPUs', oldest: old('ml/job-b', 2000) }),
      row('busy', 'b', { pending: 8, pendingWorkloads: 1, why: 'capacity', oldest: old('ml/job-c', 3000) }),
      row('tight', 'a', { inUse: 8, nominal: 8, pending: 8, pendingWorkloads: 1, why: 'quota', oldest: old('team/job-q', 1000) }),
      row('huge', 'a', { pending: 12, pendingWorkloads: 1, why: 'too large', oldest: old('team/job-h', 4000, false) }),
      row('calm', 'a', { why: 'ok' }),
    ];
    expect(waitingOf(rows, supplies).waiting?.map((w) => [w.clusterQueue, w.workload, w.cause])).to.deep.equal([
      ['tight', 'team/job-q', 'quota exhausted (8 of nominal 8 amd.com/gpu in use) while healthy GPUs are free'],
      ['busy', 'ml/job-b', 'waits for lost GPUs: 8 amd.com/gpu lost on gpu-1 (maintenance); a hardware problem, not quota'],
      ['huge', 'team/job-h', 'larger than any node of flavor a: it can never start'],
    ]);
    expect(waitingOf([row('calm', 'a', { why: 'ok' })], supplies)).to.deep.equal({});
  });

  it('flavorTotals counts each flavor × resource once, however many queues share it', () => {
    expect(flavorTotals([row('q1', 'a'), row('q2', 'a'), row('q3', 'gone')], supplies)).to.deep.equal({ healthy: 8, lost: 8, atRisk: 0 });
  });

  it('tableOf: queues with the most pending GPUs first, at most `max` rows; - where the nodes report nothing', () => {
    const rows = [
      row('calm', 'a', { promised: 8, why: 'ok' }),
      row('busy', 'a', { promised: 8, inUse: 8, pending: 8, reasons: waiting, why: 'lost GPUs' }),
      row('busy', 'b', { promised: 4, why: 'not reported' }),
    ];
    expect(tableOf(rows, supplies, 10)).to.deep.equal([
      ['busy', 'a', AMD, '8', '8', '8', '8', '8', 'lost GPUs (WaitingForQuota); gpu-1 tainted maintenance'],
      ['busy', 'b', AMD, '4', '-', '-', '0', '0', 'not reported'],
      ['calm', 'a', AMD, '8', '8', '8', '0', '0', 'ok; gpu-1 tainted maintenance'],
    ]);
    expect(tableOf(rows, supplies, 1)).to.have.length(1);
  });

  it('capacityGauges: every kind per row; healthy and lost only where the nodes report the resource', () => {
    const gauges = capacityGauges([row('q', 'a', { promised: 8 }), row('q', 'b', { pending: 2 })], supplies);
    expect(gauges.map((g) => `${g.labels.flavor}/${g.labels.kind}=${g.value}`)).to.deep.equal([
      'a/promised=8',
      'a/healthy=8',
      'a/lost=8',
      'a/in_use=0',
      'a/pending=0',
      'b/promised=0',
      'b/in_use=0',
      'b/pending=2',
    ]);
    expect(gauges[0]?.labels).to.deep.equal({ cluster_queue: 'q', flavor: 'a', resource: AMD, kind: 'promised' });
  });

  it('summarize: counts over the active rows (queues over all), the verdict from the findings, the gauges', () => {
    const rows = [row('q1', 'a', { promised: 8, inUse: 8, pending: 8, pendingWorkloads: 1, reasons: waiting, why: 'x' }), row('q2', 'a')];
    const r = summarize(10, rows, supplies, [], 3);
    expect(r).to.include({
      status: 'True',
      reason: 'CapacityHealthy',
      message: '2 ClusterQueues: 8 GPUs promised, 8 healthy, 8 lost, 8 in use, 8 pending',
    });
    expect(r.summary?.display).to.equal('8 healthy, 8 lost, 8 pending GPUs');
    expect(r.summary?.counts).to.deep.equal({
      clusterQueues: 2,
      rows: 1,
      gpusPromised: 8,
      gpusHealthy: 8,
      gpusLost: 8,
      gpusInUse: 8,
      gpusPending: 8,
      pendingWorkloads: 1,
      nodesNotInKaiwoPool: 3,
    });
    expect(r.summary?.table?.rows).to.have.length(1);
    expect(r.gauges?.[CAPACITY_METRIC]).to.have.length(5);
    expect(summarize(0, rows, supplies, [], 0).summary).to.not.have.property('table');
    const critical = summarize(10, rows, supplies, [{ severity: 'Critical', reason: 'PendingOnLostCapacity', message: 'm' }], 0);
    expect(critical).to.include({ status: 'False', reason: 'PendingOnLostCapacity' });
  });
});
