import { expect } from 'chai';
import {
  countedNote,
  flavorsByName,
  flavorSupply,
  known,
  lostNodes,
  selectedNodes,
  taintCell,
  tolerationsMatter,
} from '../../../src/checks/capacity-supply.js';
import { kaiwoSettings } from '../../../src/checks/kaiwo-config.js';
import { flavor, KAIWO_TAINT, kaiwoConfig, node, supply } from '../../support/capacity-fixtures.js';
import { view } from '../../support/fixtures.js';

const AMD = 'amd.com/gpu';
const POOL = { pool: 'mi300x' };
const DEFAULTS = kaiwoSettings(undefined);
const TAINTING = kaiwoSettings(view([kaiwoConfig({ addTaintsToGpuNodes: true })]));
const MAINTENANCE = { key: 'maintenance', value: 'true', effect: 'NoSchedule' };
const rows = [{ flavor: 'mi300x' }];

describe('capacity step: nodes', () => {
  it('reads the selected nodes: GPUs per compared resource, why a node is down, its scheduling taints', () => {
    const nodes = selectedNodes(
      [
        node('ok', { labels: POOL, allocatable: 6 }),
        node('down', { labels: POOL, ready: false, taints: [{ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' }] }),
        node('cordoned', { labels: POOL, cordoned: true, taints: [MAINTENANCE, { key: 'soft', effect: 'PreferNoSchedule' }] }),
        node('other', { labels: { pool: 'other' } }),
      ],
      { matchLabels: POOL },
      [AMD, 'nvidia.com/gpu'],
    );
    expect(nodes.map((n) => [n.name, n.down, n.taints.map((t) => t.key), n.cap, n.alloc, n.gpus, n.resources])).to.deep.equal([
      ['ok', undefined, [], { [AMD]: 8 }, { [AMD]: 6 }, 8, AMD],
      ['down', 'NotReady/KubeletNotReady', [], { [AMD]: 8 }, { [AMD]: 8 }, 8, AMD],
      ['cordoned', 'cordoned', ['maintenance'], { [AMD]: 8 }, { [AMD]: 8 }, 8, AMD],
    ]);
  });

  it('reads ResourceFlavors by name: nodeLabels, nodeTaints and tolerations', () => {
    const f = flavorsByName([flavor('mi300x', POOL, { nodeTaints: [MAINTENANCE], tolerations: [{ key: 'x', operator: 'Exists' }] })]).get(
      'mi300x',
    );
    expect(f).to.deep.equal({
      name: 'mi300x',
      nodeLabels: [['pool', 'mi300x']],
      nodeTaints: [MAINTENANCE],
      tolerations: [{ key: 'x', operator: 'Exists', value: '', effect: '' }],
    });
  });
});

describe('capacity step: flavor supply', () => {
  const nodes = selectedNodes(
    [
      node('gpu-0', { labels: POOL }),
      node('gpu-1', { labels: POOL, allocatable: 6 }),
      node('gpu-2', { labels: POOL, ready: false }),
      node('gpu-3', { labels: POOL, taints: [MAINTENANCE] }),
      node('cpu-0', { labels: POOL, dra: true }),
      node('elsewhere', { labels: { pool: 'x' } }),
    ],
    {},
    [AMD],
  );
  const flavors = flavorsByName([flavor('mi300x', POOL)]);

  it('counts healthy GPUs and names each loss: not ready, unhealthy devices, an untolerated taint', () => {
    const s = flavorSupply(rows, flavors, nodes, [AMD], DEFAULTS, undefined).get(`mi300x|${AMD}`);
    expect(s).to.deep.include({ matched: 5, reporting: 4, healthy: 14, lost: 18, maxPerNode: 8, tolerated: [] });
    expect(s?.lostOn).to.deep.equal([
      { name: 'gpu-1', gpus: 2, why: '2 of 8 unhealthy' },
      { name: 'gpu-2', gpus: 8, why: 'NotReady/KubeletNotReady' },
      { name: 'gpu-3', gpus: 8, why: 'tainted maintenance=true:NoSchedule, not tolerated', taint: MAINTENANCE },
    ]);
  });

  it("a taint the flavor, Kaiwo's pods or a Workload on the flavor tolerates leaves the GPUs healthy, and says who", () => {
    const byFlavor = flavorsByName([flavor('mi300x', POOL, { tolerations: [{ key: 'maintenance', operator: 'Exists' }] })]);
    expect(flavorSupply(rows, byFlavor, nodes, [AMD], DEFAULTS, undefined).get(`mi300x|${AMD}`)?.tolerated).to.deep.equal([
      { name: 'gpu-3', taint: MAINTENANCE, by: 'the flavor' },
    ]);
    const workloads = new Map([
      [AMD, new Map([['mi300x', new Map([[[{ key: 'maintenance', operator: 'Exists', value: '', effect: '' }], 'ml/a']])]])],
    ]);
    expect(flavorSupply(rows, flavors, nodes, [AMD], DEFAULTS, workloads).get(`mi300x|${AMD}`)).to.deep.include({
      healthy: 22,
      tolerated: [{ name: 'gpu-3', taint: MAINTENANCE, by: 'Workload ml/a' }],
    });
    const kaiwoNodes = selectedNodes([node('k', { labels: POOL, taints: [KAIWO_TAINT] })], {}, [AMD]);
    expect(flavorSupply(rows, flavors, kaiwoNodes, [AMD], TAINTING, undefined).get(`mi300x|${AMD}`)?.tolerated).to.deep.equal([
      { name: 'k', taint: KAIWO_TAINT, by: 'Kaiwo pods' },
    ]);
  });

  it('has no supply for a flavor that does not exist; one for each compared resource otherwise', () => {
    const out = flavorSupply([{ flavor: 'gone' }, { flavor: 'mi300x' }], flavors, nodes, [AMD, 'nvidia.com/gpu'], DEFAULTS, undefined);
    expect([...out.keys()]).to.deep.equal([`mi300x|${AMD}`, 'mi300x|nvidia.com/gpu']);
    expect(out.get('mi300x|nvidia.com/gpu')).to.deep.include({ matched: 5, reporting: 0 });
    expect(known(out.get('mi300x|nvidia.com/gpu'))).to.equal(undefined);
    expect(known(out.get(`mi300x|${AMD}`))).to.equal(out.get(`mi300x|${AMD}`));
  });

  it("tolerationsMatter: only when some taint is not Kaiwo's own (with addTaintsToGpuNodes)", () => {
    const kaiwoTainted = selectedNodes([node('k', { taints: [KAIWO_TAINT] })], {}, [AMD]);
    expect(tolerationsMatter(selectedNodes([node('n')], {}, [AMD]), [AMD], DEFAULTS)).to.equal(false);
    expect(tolerationsMatter(kaiwoTainted, [AMD], TAINTING)).to.equal(false);
    expect(tolerationsMatter(kaiwoTainted, [AMD], DEFAULTS)).to.equal(true);
    expect(tolerationsMatter(kaiwoTainted, [AMD, 'example.com/gpu'], TAINTING)).to.equal(true);
  });
});

describe('capacity step: what a supply says in messages', () => {
  const lossy = supply({
    lost: 20,
    lostOn: [
      { name: 'b', gpus: 8, why: 'NotReady' },
      { name: 'a', gpus: 8, why: 'cordoned' },
      { name: 'c', gpus: 2, why: '2 of 8 unhealthy' },
      { name: 'd', gpus: 1, why: 'tainted x:NoSchedule, not tolerated', taint: { key: 'x', value: '', effect: 'NoSchedule' } },
      { name: 'e', gpus: 1, why: 'tainted x:NoSchedule, not tolerated', taint: { key: 'x', value: '', effect: 'NoSchedule' } },
    ],
  });
  const tolerated = supply({
    tolerated: ['g0', 'g1', 'g2', 'g3']
      .map((name) => ({ name, taint: KAIWO_TAINT, by: 'Kaiwo pods' }))
      .concat([{ name: 'h', taint: MAINTENANCE, by: 'the flavor' }]),
  });

  it('lostNodes: the biggest losses first, at most four', () => {
    expect(lostNodes(lossy)).to.equal(
      'a (cordoned), b (NotReady), c (2 of 8 unhealthy), d (tainted x:NoSchedule, not tolerated) and 1 more',
    );
  });

  it('countedNote: the most common tolerated taint and its nodes', () => {
    expect(countedNote(supply())).to.equal('');
    expect(countedNote(tolerated)).to.equal(
      '; counted though tainted: g0, g1, g2 and 1 more (kaiwo.silogen.ai/gpu=true:NoSchedule, tolerated by Kaiwo pods) and 1 other node(s)',
    );
  });

  it('taintCell: the node an untolerated taint took most from, else the tolerated taint', () => {
    expect(taintCell(lossy)).to.equal('d tainted x +1');
    expect(taintCell(tolerated)).to.equal('kaiwo.silogen.ai/gpu tolerated by Kaiwo pods');
    expect(taintCell(supply())).to.equal('');
  });
});
