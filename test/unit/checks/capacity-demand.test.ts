import { expect } from 'chai';
import { type DegradedFlavors, degradedFlavors, placeWorkloads, queueResources } from '../../../src/checks/capacity-demand.js';
import { workloadFacts, workloadQueues } from '../../../src/checks/capacity-workloads.js';
import type { CapacityRow } from '../../../src/checks/capacity-rows.js';
import { localQueue, row, supply, workload } from '../../support/capacity-fixtures.js';

const AMD = 'amd.com/gpu';
const ns = (name: string) => ({ metadata: { name } });

/** ClusterQueue team with flavors `rows` of amd.com/gpu, each flavor's largest node 8 GPUs. */
function team(...rows: CapacityRow[]) {
  return queueResources(new Map([[`team|${AMD}`, rows]]), new Map(rows.map((r) => [`${r.flavor}|${AMD}`, supply()])));
}
const queues = workloadQueues([localQueue('ml', 'team', 'team')], undefined);

describe('capacity step: which ClusterQueue a Workload counts on', () => {
  it('the one it is admitted to, else the one its LocalQueue feeds', () => {
    const q = workloadQueues([localQueue('ml', 'team', 'team')], undefined);
    expect(q.queueOf(workloadFacts(workload('ml', 'a')))).to.equal('team');
    expect(q.queueOf(workloadFacts(workload('ml', 'b', { admittedTo: 'other' })))).to.equal('other');
    expect(q.queueOf(workloadFacts(workload('ops', 'c')))).to.equal('');
  });

  it('selects every namespace without a namespace list, else only those listed', () => {
    const facts = workloadFacts(workload('ops', 'a'));
    expect(workloadQueues([], undefined).selected(facts)).to.equal(true);
    expect(workloadQueues([], [ns('ml')]).selected(facts)).to.equal(false);
    expect(workloadQueues([], [ns('ml'), ns('ops')]).selected(facts)).to.equal(true);
  });
});

describe('capacity step: where demand can go', () => {
  it("queueResources: a queue's rows of a resource and the largest node of flavors that report it", () => {
    const rows = [row('team', 'small'), row('team', 'big'), row('team', 'dra')];
    const byRes = queueResources(
      new Map([[`team|${AMD}`, rows]]),
      new Map([
        [`small|${AMD}`, supply({ maxPerNode: 4 })],
        [`big|${AMD}`, supply({ maxPerNode: 8 })],
        [`dra|${AMD}`, supply({ reporting: 0, maxPerNode: 0 })],
      ]),
    );
    expect(byRes.get('team')?.get(AMD)).to.deep.equal({ rows, largest: 8 });
  });

  it('degradedFlavors: admitted work beyond the healthy GPUs while some are lost', () => {
    const s = new Map([
      [`lost|${AMD}`, supply({ healthy: 8, lost: 8 })],
      [`fine|${AMD}`, supply({ healthy: 8 })],
      [`spare|${AMD}`, supply({ healthy: 8, lost: 8 })],
    ]);
    const d = degradedFlavors(
      new Map([
        [`lost|${AMD}`, 16],
        [`fine|${AMD}`, 16],
        [`spare|${AMD}`, 8],
        [`gone|${AMD}`, 8],
      ]),
      s,
    );
    expect([...d.entries()].map(([r, m]) => [r, [...m.keys()]])).to.deep.equal([[AMD, ['lost']]]);
  });
});

describe('capacity step: placing the Workloads', () => {
  it("puts pending demand on the flavor Kueue's message names, else the first with quota, grouped by Kueue's reason", () => {
    const cpu = row('team', 'cpu-only');
    const a = row('team', 'a', { promised: 8 });
    const b = row('team', 'b', { promised: 8 });
    const wls = [
      workload('ml', 'w1', { podSets: [{ count: 1, gpus: 4 }] }),
      workload('ml', 'w2', {
        podSets: [{ count: 2, gpus: 2 }],
        reason: 'WaitingForQuota',
        message: 'insufficient unused quota for amd.com/gpu in flavor b, 4 more needed',
      }),
      workload('ml', 'done', { finished: true }),
    ];
    placeWorkloads(wls, queues, team(cpu, a, b), new Map());
    expect(cpu.pending).to.equal(0);
    expect(a).to.deep.include({ pending: 4, pendingWorkloads: 1, minNeed: 4 });
    expect(b).to.deep.include({ pending: 4, pendingWorkloads: 1, minNeed: 4 });
    expect([...b.reasons]).to.deep.equal([
      ['WaitingForQuota', { workloads: 1, gpus: 4, message: 'insufficient unused quota for amd.com/gpu in flavor b, 4 more needed' }],
    ]);
  });

  it('keeps at most eight reasons per row; the rest count as other', () => {
    const r = row('team', 'a', { promised: 8 });
    const wls = Array.from({ length: 10 }, (_, i) => workload('ml', `w${i}`, { reason: `R${i}`, podSets: [{ count: 1, gpus: 1 }] }));
    placeWorkloads(wls, queues, team(r), new Map());
    expect([...r.reasons.keys()]).to.deep.equal(['R0', 'R1', 'R2', 'R3', 'R4', 'R5', 'R6', 'R7', 'other']);
    expect(r.reasons.get('other')).to.deep.equal({ workloads: 2, gpus: 2, message: '' });
  });

  it("collects pod sets larger than any node of the queue's flavors; they do not set the smallest need", () => {
    const r = row('team', 'a', { promised: 8 });
    const placed = placeWorkloads([workload('ml', 'huge', { podSets: [{ count: 1, gpus: 16 }] })], queues, team(r), new Map());
    expect(placed.tooLarge.get(`team|${AMD}`)).to.deep.include({ cq: 'team', resource: AMD, largest: 8 });
    expect(placed.tooLarge.get(`team|${AMD}`)?.workloads.map((x) => [x.w.metadata.name, x.perPod])).to.deep.equal([['huge', 16]]);
    expect(r).to.deep.include({ pending: 16, minNeed: Infinity });
  });

  it('puts admitted Workloads on the degraded flavor Kueue assigned, with their namespaces; notes whether Kueue tracks PodsReady', () => {
    const degraded: DegradedFlavors = new Map([[AMD, new Map([['a', []]])]]);
    const wls = [
      workload('ml', 'on-a', { admittedTo: 'team', flavor: 'a', podsReady: true }),
      workload('ml', 'on-b', { admittedTo: 'team', flavor: 'b' }),
    ];
    const placed = placeWorkloads(wls, queues, team(row('team', 'a'), row('team', 'b')), degraded);
    expect(
      degraded
        .get(AMD)
        ?.get('a')
        ?.map((x) => [x.w.metadata.name, x.gpus]),
    ).to.deep.equal([['on-a', 8]]);
    expect([...placed.degradedNamespaces]).to.deep.equal([[`a|${AMD}`, new Set(['ml'])]]);
    expect(placed.tracksPodsReady).to.equal(true);
  });

  it('leaves out Workloads of unselected namespaces and of unknown queues', () => {
    const r = row('team', 'a', { promised: 8 });
    placeWorkloads(
      [workload('ml', 'w'), workload('ops', 'x')],
      workloadQueues([localQueue('ml', 'team', 'team')], [ns('ops')]),
      team(r),
      new Map(),
    );
    expect(r.pending).to.equal(0);
  });
});
