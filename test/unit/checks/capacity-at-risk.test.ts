import { expect } from 'chai';
import { applyDefaults } from '../../../src/api/defaults.js';
import { rowFindings } from '../../../src/checks/capacity-findings.js';
import { summarize } from '../../../src/checks/capacity-summary.js';
import {
  atRiskNodes,
  atRiskNote,
  flavorsByName,
  flavorSupply,
  selectedNodes,
  type Supply,
  supplyOf,
} from '../../../src/checks/capacity-supply.js';
import { capacityCheck } from '../../../src/checks/capacity.js';
import { gpuHardwareCheck } from '../../../src/checks/gpu-hardware.js';
import { kaiwoSettings } from '../../../src/checks/kaiwo-config.js';
import { type KaiwoMonitorSpec, specSchema } from '../../../src/checks/registry.js';
import { bindCheck, type CheckResult, type ScrapeView } from '../../../src/checks/types.js';
import { scrapeId } from '../../../src/controller/scrapes.js';
import type { KubeObject } from '../../../src/runtime/objects.js';
import type { Sample } from '../../../src/sources/promtext.js';
import { flavor, node, row, rowInput, supply } from '../../support/capacity-fixtures.js';
import { cq, POOL, spec as capacitySpec, world } from '../../support/capacity-world.js';
import { NOW } from '../../support/fixtures.js';

const AMD = 'amd.com/gpu';
const NV = 'nvidia.com/gpu';
const URL = 'http://prometheus.monitoring.svc:9090';
const MAINTENANCE = { key: 'maintenance', value: 'true', effect: 'NoSchedule' };
const F = flavorsByName([flavor('mi300x', POOL)]).get('mi300x');
const monitorSpec = (gpuHardware: object): Record<string, unknown> =>
  applyDefaults<KaiwoMonitorSpec>(specSchema, { gpuHardware }) as unknown as Record<string, unknown>;
const READING = monitorSpec({ signals: { enabled: true, prometheusURL: URL } });

function supplyWith(nodes: KubeObject[], atRisk?: Map<string, number>, resources = [AMD], tolerated = false): Map<string, Supply> {
  if (!F) throw new Error('no flavor');
  const tolerators = new Map(resources.map((r) => [r, () => (tolerated ? 'the flavor' : undefined)]));
  return supplyOf(F, selectedNodes(nodes, {}, resources), resources, tolerators, atRisk);
}

describe('capacity: GPUs at risk (Critical hardware signals)', () => {
  it('counts at-risk GPUs within allocatable on nodes counted healthy only (not NotReady, cordoned, tainted or of another flavor)', () => {
    const nodes = [
      node('ok', { labels: POOL }),
      node('part', { labels: POOL, allocatable: 6 }),
      node('down', { labels: POOL, ready: false }),
      node('cordoned', { labels: POOL, cordoned: true }),
      node('tainted', { labels: POOL, taints: [MAINTENANCE] }),
      node('other', { labels: { pool: 'other' } }),
      node('calm', { labels: POOL }),
    ];
    const risk = new Map([
      ['ok', 2],
      ['part', 8],
      ['down', 3],
      ['cordoned', 1],
      ['tainted', 2],
      ['other', 5],
      ['ghost', 4],
    ]);
    const s = supplyWith(nodes, risk).get(AMD);
    expect(s?.healthy).to.equal(8 + 6 + 8);
    // part: 2 of its 8 failing GPUs are the 2 its device plugin withdrew (lost), the other 6 are at risk.
    expect(s?.atRisk).to.equal(2 + 6);
    expect(s?.atRiskOn).to.deep.equal([
      { name: 'ok', gpus: 2 },
      { name: 'part', gpus: 6 },
    ]);
    // A taint the flavor tolerates keeps the node counted, and its failing GPUs at risk.
    expect(supplyWith([node('tainted', { labels: POOL, taints: [MAINTENANCE] })], risk, [AMD], true).get(AMD)?.atRisk).to.equal(2);
  });

  it('a GPU its device plugin already withdrew is lost, not also at risk', () => {
    const s = supplyWith([node('gpu-0', { labels: POOL, allocatable: 7 })], new Map([['gpu-0', 1]])).get(AMD);
    expect(s).to.deep.include({ healthy: 7, lost: 1, atRisk: 0, atRiskOn: [] });
    const two = supplyWith([node('gpu-0', { labels: POOL, allocatable: 7 })], new Map([['gpu-0', 3]])).get(AMD);
    expect(two).to.deep.include({ healthy: 7, lost: 1, atRisk: 2 });
  });

  it("counts a node's at-risk GPUs once across resources, never beyond its allocatable", () => {
    const base = node('both', { labels: POOL });
    const both: KubeObject = {
      ...base,
      status: {
        ...(base.status as object),
        capacity: { cpu: '96', [AMD]: '2', [NV]: '8' },
        allocatable: { cpu: '96', [AMD]: '2', [NV]: '8' },
      },
    };
    const total = (risk: number) => {
      const s = supplyWith([both], new Map([['both', risk]]), [AMD, NV]);
      return [s.get(AMD)?.atRisk, s.get(NV)?.atRisk];
    };
    expect(total(5)).to.deep.equal([2, 3]);
    expect(total(1)).to.deep.equal([1, 0]);
    expect(total(40)).to.deep.equal([2, 8]);
  });

  it('without an at-risk map nothing is at risk; flavorSupply passes the map to every flavor', () => {
    const nodes = [node('gpu-0', { labels: POOL })];
    expect(supplyWith(nodes).get(AMD)).to.deep.include({ atRisk: 0, atRiskOn: [] });
    const flavors = flavorsByName([flavor('mi300x', POOL)]);
    const sup = flavorSupply(
      [{ flavor: 'mi300x' }],
      flavors,
      selectedNodes(nodes, {}, [AMD]),
      [AMD],
      kaiwoSettings(undefined),
      undefined,
      new Map([['gpu-0', 3]]),
    );
    expect(sup.get(`mi300x|${AMD}`)?.atRisk).to.equal(3);
  });

  it('atRiskNodes and atRiskNote: most first, at most four named', () => {
    const s = supply({
      atRisk: 9,
      atRiskOn: [
        { name: 'b', gpus: 1 },
        { name: 'a', gpus: 1 },
        { name: 'c', gpus: 4 },
        { name: 'd', gpus: 2 },
        { name: 'e', gpus: 1 },
      ],
    });
    expect(atRiskNodes(s)).to.equal('c (4), d (2), a (1), b (1) and 1 more');
    expect(atRiskNote(s)).to.equal('; 9 of the healthy at risk (Critical hardware signals on c (4), d (2), a (1), b (1) and 1 more)');
    expect(atRiskNote(supply())).to.equal('');
  });
});

describe('capacity: the AT-RISK column and gauge', () => {
  const rows = () => [row('team', 'mi300x', { nominal: 16, promised: 16, inUse: 8, why: 'ok' })];
  const supplies = new Map([
    [`mi300x|${AMD}`, supply({ matched: 2, reporting: 2, healthy: 16, atRisk: 3, atRiskOn: [{ name: 'gpu-0', gpus: 3 }] })],
  ]);

  it('with signals read: AT-RISK after HEALTHY, counts.gpusAtRisk and the at_risk gauge', () => {
    const r = summarize(20, rows(), supplies, [], 0, true);
    expect(r.summary?.table?.columns).to.deep.equal([
      'QUEUE',
      'FLAVOR',
      'RESOURCE',
      'PROMISED',
      'HEALTHY',
      'AT-RISK',
      'LOST',
      'IN-USE',
      'PENDING',
      'WHY',
    ]);
    expect(r.summary?.table?.rows).to.deep.equal([['team', 'mi300x', AMD, '16', '16', '3', '0', '8', '0', 'ok']]);
    expect(r.summary?.counts).to.include({ gpusHealthy: 16, gpusAtRisk: 3 });
    expect(r.summary?.display).to.equal('16 healthy (3 at risk), 0 lost, 0 pending GPUs');
    expect(r.message).to.include('16 healthy (3 at risk)');
    const kinds = (r.gauges?.kaiwo_monitor_capacity_gpus ?? []).map((g) => `${g.labels.kind}=${g.value}`);
    expect(kinds).to.deep.equal(['promised=16', 'healthy=16', 'at_risk=3', 'lost=0', 'in_use=8', 'pending=0']);
  });

  it('with signals read and nothing at risk: 0 shown (known), not left out', () => {
    const calm = new Map([[`mi300x|${AMD}`, supply({ healthy: 16 })]]);
    const r = summarize(20, rows(), calm, [], 0, true);
    expect(r.summary?.counts).to.include({ gpusAtRisk: 0 });
    expect(r.summary?.table?.rows[0]?.[5]).to.equal('0');
    expect((r.gauges?.kaiwo_monitor_capacity_gpus ?? []).map((g) => g.labels.kind)).to.include('at_risk');
  });

  it('without signals: no AT-RISK column, no gpusAtRisk, no at_risk gauge (the columns as before)', () => {
    const r = summarize(20, rows(), supplies, [], 0, false);
    expect(r.summary?.table?.columns).to.deep.equal([
      'QUEUE',
      'FLAVOR',
      'RESOURCE',
      'PROMISED',
      'HEALTHY',
      'LOST',
      'IN-USE',
      'PENDING',
      'WHY',
    ]);
    expect(r.summary?.table?.rows).to.deep.equal([['team', 'mi300x', AMD, '16', '16', '0', '8', '0', 'ok']]);
    expect(r.summary?.counts).to.not.have.property('gpusAtRisk');
    expect((r.gauges?.kaiwo_monitor_capacity_gpus ?? []).map((g) => g.labels.kind)).to.not.include('at_risk');
  });
});

describe('capacity: QuotaReliesOnAtRiskGPUs', () => {
  const KEY = `mi300x|${AMD}`;
  const risky = (atRisk: number, over: Partial<Supply> = {}) =>
    supply({
      matched: 2,
      reporting: 2,
      healthy: 16,
      atRisk,
      atRiskOn: atRisk ? [{ name: 'gpu-3', gpus: atRisk }] : [],
      ...over,
    });
  const reasons = (fs: { severity: string; reason: string }[]) => fs.map((f) => `${f.severity}:${f.reason}`);

  it('a Warning when the promise needs the at-risk GPUs (promised > healthy − at risk, ≤ healthy)', () => {
    const r = row('team', 'mi300x', { nominal: 16, promised: 16 });
    const fs = rowFindings(rowInput([r], risky(2)));
    expect(reasons(fs)).to.deep.equal(['Warning:QuotaReliesOnAtRiskGPUs']);
    expect(fs[0]?.message)
      .to.include(
        "ClusterQueue team, flavor mi300x: promises 16 amd.com/gpu, and the flavor's nodes have 16 healthy, but 2 of them have Critical hardware signals (gpu-3 (2))",
      )
      .and.include('drain and service those GPUs');
    expect(fs[0]?.object).to.deep.include({ kind: 'ClusterQueue', name: 'team' });
    expect(r.why).to.equal('GPUs at risk');
    expect(reasons(rowFindings(rowInput([row('team', 'mi300x', { nominal: 15, promised: 15 })], risky(2))))).to.deep.equal([
      'Warning:QuotaReliesOnAtRiskGPUs',
    ]);
  });

  it('none when the healthy GPUs without the at-risk ones still hold the promise, when nothing is at risk, or the flavor was judged', () => {
    expect(rowFindings(rowInput([row('team', 'mi300x', { nominal: 14, promised: 14 })], risky(2)))).to.deep.equal([]);
    expect(rowFindings(rowInput([row('team', 'mi300x', { nominal: 16, promised: 16 })], risky(0)))).to.deep.equal([]);
    expect(rowFindings(rowInput([row('team', 'mi300x', { nominal: 16, promised: 16 })], risky(2), [KEY]))).to.deep.equal([]);
  });

  it('a promise beyond the healthy GPUs is QuotaExceedsHealthyCapacity, which names the at-risk ones', () => {
    const fs = rowFindings(rowInput([row('team', 'mi300x', { nominal: 24, promised: 24 })], risky(2)));
    expect(reasons(fs)).to.deep.equal(['Warning:QuotaExceedsHealthyCapacity']);
    expect(fs[0]?.message).to.include('; 2 of the healthy at risk (Critical hardware signals on gpu-3 (2))');
  });

  it('PendingOnLostCapacity names the at-risk GPUs too', () => {
    const r = row('team', 'mi300x', {
      nominal: 8,
      promised: 8,
      inUse: 8,
      pending: 8,
      pendingWorkloads: 1,
      minNeed: 8,
      reasons: new Map([['WaitingForQuota', { workloads: 1, gpus: 8, message: 'insufficient unused quota' }]]),
    });
    const s = risky(1, { healthy: 8, lost: 8, lostOn: [{ name: 'gpu-1', gpus: 8, why: 'NotReady' }] });
    const fs = rowFindings(rowInput([r], s));
    expect(reasons(fs)).to.deep.equal(['Warning:QuotaReliesOnAtRiskGPUs', 'Critical:PendingOnLostCapacity']);
    expect(fs[1]?.message).to.match(/; 1 of the healthy at risk \(Critical hardware signals on gpu-3 \(1\)\)$/);
  });
});

describe('capacity check: reads the Critical hardware signals of gpuHardware', () => {
  const sample = (signal: string, value: number, labels: Record<string, string>): Sample => ({
    name: '',
    labels: { kmon_signal: signal, ...labels },
    value,
  });
  const ok = (samples: Sample[]): ScrapeView => ({ state: 'ok', history: [{ at: NOW.getTime(), samples }] });
  const run = (
    monitor: Record<string, unknown> | undefined,
    scrapes: Record<string, ScrapeView>,
    data = world({ cqs: [cq('team', 16, 0)] }),
  ): CheckResult => capacityCheck.evaluate({ spec: capacitySpec(), data, scrapes, now: NOW, env: {}, ...(monitor ? { monitor } : {}) });
  const SICK = {
    'hw.memory': ok([
      sample('amd_ecc_uncorrectable', 2, { hostname: 'gpu-0', gpu_id: '0' }),
      sample('amd_ecc_uncorrectable', 9, { hostname: 'gpu-0', gpu_id: '1' }),
      sample('amd_ecc_correctable', 5000, { hostname: 'gpu-1', gpu_id: '7' }),
      sample('amd_ecc_uncorrectable', 9, { hostname: 'elsewhere', gpu_id: '1' }),
    ]),
    'hw.health': ok([
      sample('amd_gpu_health', 0, { hostname: 'gpu-0', gpu_id: '1' }),
      sample('amd_gpu_health', 0, { hostname: 'gpu-1', gpu_id: '4' }),
    ]),
    'hw.errors': ok([]),
  };

  it("declares the Critical families' queries only when gpuHardware reads signals, identical to gpuHardware's (one shared poll)", () => {
    const cap = bindCheck(capacityCheck, READING).scrapes;
    const hw = bindCheck(gpuHardwareCheck, READING).scrapes;
    expect(Object.keys(cap)).to.deep.equal(['hw.health', 'hw.memory', 'hw.errors']);
    for (const [k, v] of Object.entries(cap)) {
      expect(v, k).to.deep.equal(hw[k]);
      const theirs = hw[k];
      expect(theirs, k).to.not.equal(undefined);
      if (theirs) expect(scrapeId(v), k).to.equal(scrapeId(theirs));
    }
    expect(capacityCheck.scrapes?.(capacitySpec(), monitorSpec({}))).to.deep.equal({});
    expect(capacityCheck.scrapes?.(capacitySpec(), monitorSpec({ signals: { enabled: true } }))).to.deep.equal({});
    expect(
      capacityCheck.scrapes?.(capacitySpec(), monitorSpec({ enabled: false, signals: { enabled: true, prometheusURL: URL } })),
    ).to.deep.equal({});
    expect(capacityCheck.scrapes?.(capacitySpec(), undefined)).to.deep.equal({});
    expect(capacityCheck.scrapes?.(capacitySpec())).to.deep.equal({});
  });

  it('puts the GPUs with Critical signals on counted nodes in the table, the counts and the gauge, with QuotaReliesOnAtRiskGPUs', () => {
    const r = run(READING, SICK);
    expect(r.status).to.equal('True');
    expect(r.summary?.table?.columns).to.include('AT-RISK');
    expect(r.summary?.table?.rows).to.deep.equal([['team', 'mi300x', AMD, '16', '16', '3', '0', '0', '0', 'GPUs at risk']]);
    expect(r.summary?.counts).to.include({ gpusHealthy: 16, gpusAtRisk: 3 });
    const f = r.findings.find((x) => x.reason === 'QuotaReliesOnAtRiskGPUs');
    expect(f?.severity).to.equal('Warning');
    expect(f?.message).to.include('3 of them have Critical hardware signals (gpu-0 (2), gpu-1 (1))');
    const g = (r.gauges?.kaiwo_monitor_capacity_gpus ?? []).find((x) => x.labels.kind === 'at_risk');
    expect(g?.value).to.equal(3);
  });

  it('at risk is unknown (no column, no gauge), not 0, while a Critical family is unanswered or failing past its grace', () => {
    const failing: ScrapeView = { state: 'failing', reason: 'PrometheusQueryFailed', error: 'down', history: SICK['hw.memory'].history };
    for (const broken of [
      { 'hw.errors': { state: 'pending' as const, history: [] } },
      { 'hw.memory': failing },
      { 'hw.health': undefined },
    ]) {
      const scrapes = { ...SICK, ...broken } as Record<string, ScrapeView>;
      const r = run(READING, scrapes);
      expect(r.summary?.table?.columns).to.not.include('AT-RISK');
      expect(r.summary?.counts).to.not.have.property('gpusAtRisk');
      expect((r.gauges?.kaiwo_monitor_capacity_gpus ?? []).map((x) => x.labels.kind)).to.not.include('at_risk');
    }
  });

  it('a NotReady node with failing GPUs is lost, not at risk', () => {
    const data = world({
      nodes: [node('gpu-0', { labels: POOL, ready: false }), node('gpu-1', { labels: POOL })],
      cqs: [cq('team', 8, 0)],
    });
    const r = run(READING, SICK, data);
    expect(r.summary?.counts).to.include({ gpusHealthy: 8, gpusLost: 8, gpusAtRisk: 1 });
  });

  it('without gpuHardware signals: no AT-RISK column and no at-risk finding, whatever the scrapes hold', () => {
    for (const monitor of [undefined, monitorSpec({})]) {
      const r = run(monitor, SICK);
      expect(r.summary?.table?.columns).to.not.include('AT-RISK');
      expect(r.summary?.counts).to.not.have.property('gpusAtRisk');
      expect(r.findings.map((x) => x.reason)).to.not.include('QuotaReliesOnAtRiskGPUs');
      expect(r.summary?.table?.rows[0]?.at(-1)).to.equal('ok');
    }
  });
});
