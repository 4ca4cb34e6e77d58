import { expect } from 'chai';
import type { DegradedFlavors, Placed } from '../../../src/checks/capacity-demand.js';
import {
  blockedPods,
  flavorFindings,
  type FlavorInput,
  narrowerFlavors,
  rowsByFlavor,
  unplacedPods,
} from '../../../src/checks/capacity-flavor-findings.js';
import type { CapacityRow } from '../../../src/checks/capacity-rows.js';
import { flavorsByName, type Supply } from '../../../src/checks/capacity-supply.js';
import { workloadFacts } from '../../../src/checks/capacity-workloads.js';
import type { SourceView } from '../../../src/checks/types.js';
import { flavor, pendingPod, row, supply, workload } from '../../support/capacity-fixtures.js';
import { view } from '../../support/fixtures.js';

const AMD = 'amd.com/gpu';
const KEY = `mi300x|${AMD}`;
const POOL = { pool: 'mi300x' };
const flavors = flavorsByName([flavor('mi300x', POOL), flavor('mi300x-hbm', { ...POOL, hbm: '192' }), flavor('mi250', { pool: 'mi250' })]);
const LOST = supply({ matched: 2, reporting: 2, healthy: 8, lost: 8, lostOn: [{ name: 'gpu-1', gpus: 8, why: 'NotReady' }] });
const NO_PLACED: Placed = { tooLarge: new Map(), tracksPodsReady: false, degradedNamespaces: new Map() };

/** Flavor mi300x with `rows` on it and supply `s`; the pending pods listed (none) unless `over` says otherwise. */
function input(rows: CapacityRow[], s: Supply | undefined, over: Partial<FlavorInput> = {}): FlavorInput {
  const inUse = rows.reduce((a, r) => a + r.inUse, 0);
  return {
    apiVersion: 'kueue.x-k8s.io/v1beta2',
    rows,
    flavors,
    supply: new Map(s ? [[KEY, s]] : []),
    inUse: new Map([[KEY, inUse]]),
    degraded: new Map(),
    placed: NO_PLACED,
    pendingPods: view([]),
    ...over,
  };
}
const reasons = (out: ReturnType<typeof flavorFindings>) => out.findings.map((f) => `${f.severity}:${f.reason}`);

/** Flavor mi300x lost GPUs under admitted Workload ml/a (PodsReady as given), with the pending pods `pods`. */
function degradedInput(rows: CapacityRow[], podsReady: boolean | undefined, pods: SourceView | undefined): FlavorInput {
  const w = workload('ml', 'a', { admittedTo: 'team', flavor: 'mi300x', ...(podsReady !== undefined ? { podsReady } : {}) });
  const degraded: DegradedFlavors = new Map([[AMD, new Map([['mi300x', [{ w, f: workloadFacts(w), gpus: 16 }]]])]]);
  const placed: Placed = { ...NO_PLACED, tracksPodsReady: podsReady !== undefined, degradedNamespaces: new Map([[KEY, new Set(['ml'])]]) };
  return input(rows, LOST, { degraded, placed, pendingPods: pods });
}

describe('capacity step: findings per flavor', () => {
  it('says nothing of rows that promise, hold and wait for nothing', () => {
    const r = row('team', 'mi300x');
    expect(flavorFindings(input([r], undefined)).findings).to.deep.equal([]);
    expect(r.why).to.equal('');
  });

  it("a flavor that does not exist: only the rows' why", () => {
    const r = row('team', 'mi300x', { promised: 8 });
    expect(flavorFindings(input([r], undefined)).findings).to.deep.equal([]);
    expect(r.why).to.equal('flavor missing');
  });

  it('FlavorHasNoNodes: a Warning for a promise, Critical once work is admitted to it', () => {
    const promised = flavorFindings(input([row('team', 'mi300x', { promised: 8 })], supply({ matched: 0, reporting: 0 })));
    expect(reasons(promised)).to.deep.equal(['Warning:FlavorHasNoNodes']);
    expect(promised.findings[0]?.message).to.equal(
      'ResourceFlavor mi300x (nodeLabels pool=mi300x) matches no node, but ClusterQueue team promise 8 amd.com/gpu on it: ' +
        'Workloads admitted to it will never start',
    );
    expect(
      reasons(flavorFindings(input([row('team', 'mi300x', { promised: 8, inUse: 8 })], supply({ matched: 0, reporting: 0 })))),
    ).to.deep.equal(['Critical:FlavorHasNoNodes']);
  });

  it('SupplyNotReported when its nodes report no such resource', () => {
    const r = row('team', 'mi300x', { promised: 8 });
    expect(reasons(flavorFindings(input([r], supply({ reporting: 0 }))))).to.deep.equal(['Info:SupplyNotReported']);
    expect(r.why).to.equal('not reported');
  });

  it('nothing while admitted work fits the healthy GPUs', () => {
    const out = flavorFindings(input([row('team', 'mi300x', { promised: 16, inUse: 8 })], LOST));
    expect(out.findings).to.deep.equal([]);
    expect(out.done.size).to.equal(0);
  });

  it('QuotaExceedsHealthyCapacity (Critical) when admitted work exceeds the GPUs and none are lost; the flavor is done', () => {
    const r = row('team', 'mi300x', { promised: 16, inUse: 16 });
    const out = flavorFindings(input([r], supply()));
    expect(reasons(out)).to.deep.equal(['Critical:QuotaExceedsHealthyCapacity']);
    expect(out.findings[0]?.message).to.equal(
      'ResourceFlavor mi300x: 16 amd.com/gpu reserved by admitted Workloads (ClusterQueue team) but its nodes have only 8 ' +
        'and none lost: quota larger than the hardware, 8 GPUs of admitted work sit with Pending pods',
    );
    expect([...out.done]).to.deep.equal([KEY]);
    expect(r.why).to.equal('over quota');
  });

  it('lost GPUs and an Unschedulable pod of the admitted work: PendingOnLostCapacity (Critical)', () => {
    const r = row('team', 'mi300x', { promised: 16, inUse: 16 });
    const out = flavorFindings(degradedInput([r], undefined, view([pendingPod('ml', 'a-0', { nodeSelector: POOL })])));
    expect(reasons(out)).to.deep.equal(['Critical:PendingOnLostCapacity']);
    expect(out.findings[0]?.message).to.contain(
      '8 wait for the 8 GPUs lost on gpu-1 (NotReady): a hardware problem, not quota; the scheduler cannot place 1 pod',
    );
    expect(r.why).to.equal('lost GPUs');
  });

  it('lost GPUs and no such pod: RunningOnDegradedCapacity (Warning)', () => {
    const r = row('team', 'mi300x', { promised: 16, inUse: 16 });
    const out = flavorFindings(
      degradedInput([r], undefined, view([pendingPod('ml', 'a-0', { nodeSelector: POOL, scheduled: 'SchedulingGated' })])),
    );
    expect(reasons(out)).to.deep.equal(['Warning:RunningOnDegradedCapacity']);
    expect(out.findings[0]?.message).to.contain('its admitted Workloads run (none has a pod the scheduler cannot place): ml/a,');
    expect(r.why).to.equal('degraded');
  });

  it("without the pods: Kueue's PodsReady decides; without either the work counts as waiting and PendingPodsUnreadable says why", () => {
    const rows = () => [row('team', 'mi300x', { promised: 16, inUse: 16 })];
    expect(reasons(flavorFindings(degradedInput(rows(), true, undefined)))).to.deep.equal(['Warning:RunningOnDegradedCapacity']);
    expect(reasons(flavorFindings(degradedInput(rows(), false, undefined)))).to.deep.equal(['Critical:PendingOnLostCapacity']);
    const unknown = flavorFindings(degradedInput(rows(), undefined, { state: 'pending', objects: [], error: 'forbidden' }));
    expect(reasons(unknown)).to.deep.equal(['Critical:PendingOnLostCapacity', 'Info:PendingPodsUnreadable']);
    expect(unknown.findings[1]?.message).to.match(/^pending Pods cannot be read \(forbidden\)/);
  });
});

describe('capacity step: the pods of admitted work on a flavor', () => {
  const mi300x = flavors.get('mi300x')!;

  it('rowsByFlavor groups rows by flavor × resource', () => {
    const rows = [row('a', 'f'), row('b', 'g'), row('c', 'f')];
    expect([...rowsByFlavor(rows)].map(([k, rs]) => [k, rs.map((r) => r.cq)])).to.deep.equal([
      [`f|${AMD}`, ['a', 'c']],
      [`g|${AMD}`, ['b']],
    ]);
  });

  it('unplacedPods keeps the Unschedulable pods that request an extended resource', () => {
    const pods = [pendingPod('ml', 'a-0'), pendingPod('ml', 'b-0', { scheduled: 'none' }), pendingPod('ml', 'c-0', { gpus: 0 })];
    expect(unplacedPods(pods).map((p) => p.name)).to.deep.equal(['a-0']);
  });

  it("narrowerFlavors: other flavors of the resource whose nodeLabels include this one's and more", () => {
    const s = new Map([
      [KEY, supply()],
      [`mi300x-hbm|${AMD}`, supply()],
      [`mi250|${AMD}`, supply()],
      ['mi300x-hbm|nvidia.com/gpu', supply()],
    ]);
    expect(narrowerFlavors(s, flavors, mi300x, AMD)).to.deep.equal([
      [
        ['pool', 'mi300x'],
        ['hbm', '192'],
      ],
    ]);
  });

  it('blockedPods: in a namespace of the work, requesting the resource, selecting the flavor and not a narrower one', () => {
    const pods = unplacedPods([
      pendingPod('ml', 'mine', { nodeSelector: POOL }),
      pendingPod('ops', 'other-ns', { nodeSelector: POOL }),
      pendingPod('ml', 'narrower', { nodeSelector: { ...POOL, hbm: '192' } }),
      pendingPod('ml', 'nvidia', { nodeSelector: POOL, resource: 'nvidia.com/gpu' }),
      pendingPod('ml', 'no-selector'),
    ]);
    const narrower = [
      [
        ['pool', 'mi300x'],
        ['hbm', '192'],
      ] as [string, string][],
    ];
    expect(blockedPods(pods, new Set(['ml']), mi300x, AMD, narrower).map((p) => p.name)).to.deep.equal(['mine']);
    expect(blockedPods(pods, undefined, mi300x, AMD, narrower)).to.deep.equal([]);
  });
});
