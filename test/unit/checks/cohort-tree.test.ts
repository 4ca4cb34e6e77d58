import { expect } from 'chai';
import { CohortTree } from '../../../src/checks/cohort-tree.js';
import type { KubeObject } from '../../../src/runtime/objects.js';

/** Kueue's own table (pkg/cache/scheduler/resource_test.go, v0.19.2, TestAvailable), in whole CPUs, flavor red. */
type Limits = [nominal: number, borrowing?: number, lending?: number];
const resources = ([nominal, borrowing, lending]: Limits) => [
  {
    name: 'cpu',
    nominalQuota: String(nominal),
    ...(borrowing !== undefined ? { borrowingLimit: String(borrowing) } : {}),
    ...(lending !== undefined ? { lendingLimit: String(lending) } : {}),
  },
];
const group = (q: Limits) => [{ coveredResources: ['cpu'], flavors: [{ name: 'red', resources: resources(q) }] }];
function cq(name: string, cohort: string | undefined, q: Limits, used = 0, v1beta1 = false): KubeObject {
  return {
    metadata: { name },
    spec: { ...(cohort ? (v1beta1 ? { cohort } : { cohortName: cohort }) : {}), resourceGroups: group(q) },
    status: { flavorsReservation: [{ name: 'red', resources: [{ name: 'cpu', total: String(used) }] }] },
  };
}
function cohort(name: string, q?: Limits, parent?: string, v1alpha1 = false): KubeObject {
  return {
    metadata: { name },
    spec: { ...(parent ? (v1alpha1 ? { parent } : { parentName: parent }) : {}), ...(q ? { resourceGroups: group(q) } : {}) },
  };
}
const R = 'red|cpu';
const answers = (t: CohortTree, names: string[]) => names.map((n) => [t.available(n, R), t.potential(n, R)]);

describe('cohort tree: Kueue quota arithmetic (available, potentially available)', () => {
  it('base queues: nominal left, nothing to borrow', () => {
    const t = new CohortTree([cq('cq1', undefined, [0], 1), cq('cq2', undefined, [5], 2.5)], [], new Set(['cpu']));
    expect(answers(t, ['cq1', 'cq2'])).to.deep.equal([
      [0, 0],
      [2.5, 5],
    ]);
  });

  it('queues in a cohort with quota of its own (a lending limit keeps the rest at home)', () => {
    const t = new CohortTree([cq('cq1', 'c', [10], 1), cq('cq2', 'c', [10, undefined, 9], 0.5)], [cohort('c', [10])], new Set(['cpu']));
    expect(answers(t, ['cq1', 'cq2'])).to.deep.equal([
      [28, 29],
      [28.5, 30],
    ]);
  });

  it('borrowing from the cohort, and a queue past its quota spilling into what the others can have', () => {
    expect(answers(new CohortTree([cq('cq1', 'c', [10], 11)], [cohort('c', [10])], new Set(['cpu'])), ['cq1'])).to.deep.equal([[9, 20]]);
    const t = new CohortTree([cq('cq1', 'c', [10], 31), cq('cq2', 'c', [10, 0, 0])], [cohort('c', [10])], new Set(['cpu']));
    expect(answers(t, ['cq1', 'cq2'])).to.deep.equal([
      [0, 20],
      [0, 10],
    ]);
  });

  it('lending and borrowing limits respected', () => {
    const t = new CohortTree(
      [cq('cq1', 'c', [10], 20), cq('cq2', 'c', [10, 2], 10), cq('cq3', 'c', [10, undefined, 5], 6)],
      [cohort('c', [10])],
      new Set(['cpu']),
    );
    expect(answers(t, ['cq1', 'cq2', 'cq3'])).to.deep.equal([
      [4, 35],
      [2, 12],
      [4, 40],
    ]);
    expect(t.lendingLimit('cq3', R)).to.equal(5);
    expect(t.cohortQuota('cq3', R)).to.equal(10);
  });

  it('hierarchical cohorts (v1beta2 parentName, v1alpha1 parent), with a borrowing limit on a Cohort', () => {
    const t = new CohortTree(
      [cq('cq1', 'left', [10], 10), cq('cq2', 'right', [10, undefined, 0], 5)],
      [cohort('root'), cohort('left', [10], 'root'), cohort('right', [10], 'root', true)],
      new Set(['cpu']),
    );
    expect(answers(t, ['cq1', 'cq2'])).to.deep.equal([
      [20, 30],
      [25, 40],
    ]);
    expect(t.cohortPath('cq1')).to.equal('left ← root');
    const limited = new CohortTree(
      [cq('left-cq1', 'left', [10]), cq('left-cq2', 'left', [10, 5]), cq('right-cq', 'right', [10])],
      [cohort('root'), cohort('left', [10, 5], 'root'), cohort('right', [10], 'root')],
      new Set(['cpu']),
    );
    expect(answers(limited, ['left-cq1', 'left-cq2', 'right-cq'])).to.deep.equal([
      [35, 35],
      [15, 15],
      [50, 50],
    ]);
  });

  it('an implicit cohort (no Cohort object: v1beta1 `cohort`), the fair-sharing share where Kueue writes one', () => {
    const a = cq('a', 'team', [8], 8, true);
    a.status = { ...(a.status as object), fairSharing: { weightedShare: 250 } };
    const t = new CohortTree([a, cq('b', 'team', [8], 2, true)], [], new Set(['cpu']));
    expect(answers(t, ['a', 'b'])).to.deep.equal([
      [6, 16],
      [6, 16],
    ]);
    expect([t.weightedShare('a'), t.weightedShare('b'), t.cohortQuota('a', R), t.cohortPath('a')]).to.deep.equal([
      250,
      undefined,
      0,
      'team',
    ]);
  });

  it('survives what Kueue itself refuses or a hostile object holds: cycles, a cohort its own parent, garbage, unknown queues', () => {
    const cycle = new CohortTree(
      [cq('q', 'x', [4], 1)],
      [cohort('x', [4], 'y'), cohort('y', [4], 'x'), cohort('self', [1], 'self')],
      new Set(['cpu']),
    );
    expect(cycle.available('q', R)).to.be.a('number').and.to.be.at.least(0);
    const deep = Array.from({ length: 200 }, (_, i) => cohort(`c${i}`, [1], `c${i + 1}`));
    const long = new CohortTree([cq('q', 'c0', [1])], deep, new Set(['cpu']));
    expect(Number.isFinite(long.available('q', R))).to.equal(true);
    const junk = new CohortTree(
      [{ metadata: { name: 'j' }, spec: { cohortName: 7, resourceGroups: 'x' }, status: { fairSharing: { weightedShare: 'NaN' } } }],
      [{ metadata: { name: 'k' }, spec: null }],
      new Set(['cpu']),
    );
    expect([junk.available('j', R), junk.potential('nobody', R), junk.weightedShare('j'), junk.cohortPath('j')]).to.deep.equal([
      0,
      0,
      undefined,
      '',
    ]);
  });
});
