import { expect } from 'chai';
import { capacityCheck } from '../../../src/checks/capacity.js';
import { applyDefaults } from '../../../src/api/defaults.js';
import { type KaiwoMonitorSpec, specSchema } from '../../../src/checks/registry.js';
import type { SourceView } from '../../../src/checks/types.js';
import {
  clusterQueue,
  flavor,
  KAIWO_TAINT,
  KAIWO_TOLERATION,
  kaiwoConfig,
  localQueue,
  node,
  workload,
} from '../../support/capacity-fixtures.js';
import { cq, finding, POOL, reasons, run, world } from '../../support/capacity-world.js';
import { view } from '../../support/fixtures.js';

const config = (nodes: Record<string, unknown> = {}, top: Record<string, unknown> = {}): SourceView => view([kaiwoConfig(nodes, top)]);
const TAINTS = { taints: [KAIWO_TAINT] };
const tainted = [node('gpu-0', { labels: POOL, ...TAINTS }), node('gpu-1', { labels: POOL, ...TAINTS })];
const MAINTENANCE = { key: 'maintenance', value: 'true', effect: 'NoSchedule' };
const row = (r: ReturnType<typeof run>) => r.summary?.table?.rows[0];

describe("check: capacity on Kaiwo's configurations (KaiwoConfig, GPU taints)", () => {
  it("addTaintsToGpuNodes: Kaiwo's GPU taint is tolerated by Kaiwo's pods, so its nodes are healthy and the table says why", () => {
    const r = run(
      world({
        nodes: tainted,
        cqs: [cq('team', 16, 8)],
        wls: [workload('ml', 'a', { admittedTo: 'team' })],
        kaiwoConfig: config({ addTaintsToGpuNodes: true }),
      }),
    );
    expect(r).to.include({ status: 'True', reason: 'CapacityHealthy' });
    expect(r.findings).to.deep.equal([]);
    expect(r.summary?.counts).to.include({ gpusHealthy: 16, gpusLost: 0 });
    expect(row(r)).to.deep.equal([
      'team',
      'mi300x',
      'amd.com/gpu',
      '16',
      '16',
      '0',
      '8',
      '0',
      'ok; kaiwo.silogen.ai/gpu tolerated by Kaiwo pods',
    ]);
  });

  it("Kaiwo's taint without addTaintsToGpuNodes (or without KaiwoConfig) and without Workload tolerations: lost, named", () => {
    for (const kaiwo of [config(), view([], 'absent'), view([]), undefined]) {
      const r = run(world({ nodes: tainted, cqs: [cq('team', 16, 0)], ...(kaiwo ? { kaiwoConfig: kaiwo } : {}) }));
      expect(r.summary?.counts).to.include({ gpusHealthy: 0, gpusLost: 16 });
      expect(reasons(r)).to.deep.equal(['Warning:QuotaExceedsHealthyCapacity']);
      expect(finding(r, 'QuotaExceedsHealthyCapacity')?.message).to.include(
        '16 lost on gpu-0 (tainted kaiwo.silogen.ai/gpu=true:NoSchedule, not tolerated), gpu-1 (tainted',
      );
    }
  });

  it('the tolerations of the Workloads admitted to or pending on the flavor count (Kaiwo writes them into its pods)', () => {
    const admitted = run(
      world({
        nodes: tainted,
        cqs: [cq('team', 16, 8)],
        wls: [workload('ml', 'a', { admittedTo: 'team', flavor: 'mi300x', tolerations: [KAIWO_TOLERATION] })],
      }),
    );
    expect(admitted.findings).to.deep.equal([]);
    expect(admitted.summary?.counts).to.include({ gpusHealthy: 16, gpusLost: 0 });
    expect(row(admitted)?.[8]).to.equal('ok; kaiwo.silogen.ai/gpu tolerated by Workload ml/a');
    const pending = run(
      world({ nodes: tainted, cqs: [cq('team', 16, 0)], wls: [workload('ml', 'p', { tolerations: [{ operator: 'Exists' }] })] }),
    );
    expect(pending.summary?.counts).to.include({ gpusHealthy: 16, gpusLost: 0 });
    // A Workload of another ClusterQueue and flavor tolerates nothing here.
    const elsewhere = run(
      world({
        nodes: [...tainted, node('x-0', { labels: { pool: 'x' } })],
        flavors: [flavor('mi300x', POOL), flavor('x', { pool: 'x' })],
        cqs: [cq('team', 16, 0), clusterQueue('other', { flavors: [{ name: 'x', resources: [{ name: 'amd.com/gpu', nominal: 8 }] }] })],
        lqs: [localQueue('ml', 'team', 'team'), localQueue('ml', 'other', 'other')],
        wls: [workload('ml', 'o', { queue: 'other', tolerations: [KAIWO_TOLERATION] })],
      }),
    );
    expect(elsewhere.summary?.counts).to.include({ gpusLost: 16 });
  });

  it("an untolerated taint (maintenance) still loses the node's GPUs, named, while Kaiwo's taint on the other node is counted and said so", () => {
    const nodes = [node('gpu-0', { labels: POOL, ...TAINTS }), node('gpu-1', { labels: POOL, taints: [KAIWO_TAINT, MAINTENANCE] })];
    const r = run(
      world({
        nodes,
        cqs: [cq('team', 16, 8)],
        wls: [workload('ml', 'a', { admittedTo: 'team', tolerations: [KAIWO_TOLERATION] })],
        kaiwoConfig: config({ addTaintsToGpuNodes: true }),
      }),
    );
    expect(r.summary?.counts).to.include({ gpusHealthy: 8, gpusLost: 8 });
    expect(finding(r, 'QuotaExceedsHealthyCapacity')?.message)
      .to.include('8 healthy (8 lost on gpu-1 (tainted maintenance=true:NoSchedule, not tolerated))')
      .and.include('counted though tainted: gpu-0 (kaiwo.silogen.ai/gpu=true:NoSchedule, tolerated by Kaiwo pods)');
    expect(row(r)?.[8]).to.equal('over-promised; gpu-1 tainted maintenance'); // the loss first; the message says what is tolerated
  });

  it("follows KaiwoConfig's taint key; Kaiwo's toleration covers NoSchedule only, and only pods requesting amd.com/gpu or nvidia.com/gpu", () => {
    const custom = { key: 'example.com/gpu', value: 'true', effect: 'NoSchedule' };
    const nodes = [node('gpu-0', { labels: POOL, taints: [custom] }), node('gpu-1', { labels: POOL, taints: [KAIWO_TAINT] })];
    const r = run(
      world({ nodes, cqs: [cq('team', 16, 0)], kaiwoConfig: config({ addTaintsToGpuNodes: true, defaultGpuTaintKey: 'example.com/gpu' }) }),
    );
    expect(r.summary?.counts).to.include({ gpusHealthy: 8, gpusLost: 8 });
    expect(finding(r, 'QuotaExceedsHealthyCapacity')?.message).to.include(
      '8 lost on gpu-1 (tainted kaiwo.silogen.ai/gpu=true:NoSchedule, not tolerated)',
    );
    const noExecute = run(
      world({
        nodes: [node('gpu-0', { labels: POOL, taints: [{ ...KAIWO_TAINT, effect: 'NoExecute' }] })],
        cqs: [cq('team', 8, 0)],
        kaiwoConfig: config({ addTaintsToGpuNodes: true }),
      }),
    );
    expect(noExecute.summary?.counts).to.include({ gpusLost: 8 });
    // A GPU resource of its own (defaultGpuResourceKey): Kaiwo's pods requesting it get no toleration.
    const vgpu = 'amd.com/vgpu';
    const own = run(
      world({
        nodes: [node('gpu-0', { labels: POOL, resource: vgpu, ...TAINTS })],
        cqs: [clusterQueue('team', { flavors: [{ name: 'mi300x', resources: [{ name: vgpu, nominal: 8 }] }] })],
        kaiwoConfig: config({ addTaintsToGpuNodes: true, defaultGpuResourceKey: vgpu }),
      }),
    );
    expect(own.summary?.table?.rows.map((x) => x.slice(0, 6))).to.deep.equal([['team', 'mi300x', vgpu, '8', '0', '8']]);
  });

  it("compares KaiwoConfig's GPU resource key too (not in resourceNames), and not without it", () => {
    const vgpu = 'amd.com/vgpu';
    const w = {
      nodes: [node('gpu-0', { labels: POOL, resource: vgpu })],
      cqs: [clusterQueue('team', { flavors: [{ name: 'mi300x', resources: [{ name: vgpu, nominal: 8 }] }] })],
    };
    expect(run(world({ ...w, kaiwoConfig: config({ defaultGpuResourceKey: vgpu }) })).summary?.table?.rows).to.deep.equal([
      ['team', 'mi300x', vgpu, '8', '8', '0', '0', '0', 'ok'],
    ]);
    expect(run(world({ ...w, kaiwoConfig: config() })).summary?.table).to.equal(undefined);
    expect(run(world({ ...w, kaiwoConfig: config({ defaultGpuResourceKey: 'not a resource!' }) })).summary?.table).to.equal(undefined);
  });

  it('KaiwoConfig: waits for its first list, but not when that list fails (defaults, Info) nor when the CRD is absent; hostile shapes are defaults', () => {
    expect(run(world({ kaiwoConfig: view([], 'pending') }))).to.include({ status: 'Unknown', reason: 'NotObserved' });
    const forbidden = run(world({ kaiwoConfig: { state: 'pending', objects: [], error: 'HTTP 403: forbidden' } }));
    expect(forbidden).to.include({ status: 'True', reason: 'CapacityHealthy' });
    expect(reasons(forbidden)).to.deep.equal(['Info:KaiwoConfigUnreadable']);
    expect(finding(forbidden, 'KaiwoConfigUnreadable')?.message)
      .to.include('HTTP 403: forbidden')
      .and.include("Kaiwo's defaults are assumed");
    expect(run(world({ kaiwoConfig: view([], 'absent') }))).to.include({ status: 'True', reason: 'CapacityHealthy' });
    for (const spec of [
      'garbage',
      { nodes: [1] },
      { nodes: { addTaintsToGpuNodes: 'yes', defaultGpuTaintKey: { a: 1 }, defaultGpuResourceKey: 7 } },
    ]) {
      const r = run(world({ nodes: tainted, cqs: [cq('team', 16, 0)], kaiwoConfig: view([{ ...kaiwoConfig(), spec }]) }));
      expect(r.summary?.counts).to.include({ gpusLost: 16 });
    }
  });

  it("pending demand goes to a flavor that can hold it, not to Kaiwo's cpu-only flavor first in the queue (quota 0 for GPUs)", () => {
    const cpuPool = { 'kaiwo/nodepool': 'cpu-only-0gpu-86core-900gi' };
    const nodes = [node('gpu-0', { labels: POOL }), node('gpu-1', { labels: POOL }), node('cpu-0', { labels: cpuPool, dra: true })];
    const flavors = [flavor('cpu-only', cpuPool), flavor('mi300x', POOL)];
    const cqs = [
      clusterQueue('kaiwo', {
        flavors: [
          {
            name: 'cpu-only',
            resources: [
              { name: 'amd.com/gpu', nominal: 0 },
              { name: 'nvidia.com/gpu', nominal: 0 },
            ],
          },
          {
            name: 'mi300x',
            resources: [
              { name: 'amd.com/gpu', nominal: 16 },
              { name: 'nvidia.com/gpu', nominal: 0 },
            ],
          },
        ],
      }),
    ];
    const wls = [workload('ml', 'waits', { queue: 'kaiwo', podSets: [{ count: 1, gpus: 8, resource: 'amd.com/gpu' }] })];
    const r = run(world({ nodes, flavors, cqs, lqs: [localQueue('ml', 'kaiwo', 'kaiwo')], wls }));
    expect(reasons(r)).to.deep.equal([]);
    expect(r.summary?.table?.rows.map((x) => [x[1], x[2], x[7]])).to.deep.equal([['mi300x', 'amd.com/gpu', '8']]);
  });

  it("rows that promise 0 and hold and wait for nothing (the other vendor's GPUs in a Kaiwo flavor) make no finding, row or gauge", () => {
    const cqs = [
      clusterQueue('kaiwo', {
        flavors: [
          {
            name: 'mi300x',
            resources: [
              { name: 'amd.com/gpu', nominal: 16 },
              { name: 'nvidia.com/gpu', nominal: 0 },
            ],
          },
        ],
      }),
    ];
    const lqs = [localQueue('ml', 'kaiwo', 'kaiwo')];
    const r = run(world({ cqs, lqs }));
    expect(r.findings).to.deep.equal([]);
    expect(r.summary?.table?.rows.map((x) => x[2])).to.deep.equal(['amd.com/gpu']);
    expect(new Set(r.gauges?.kaiwo_monitor_capacity_gpus?.map((g) => g.labels.resource))).to.deep.equal(new Set(['amd.com/gpu']));
    expect(r.summary?.counts).to.include({ clusterQueues: 1, rows: 1 });
    // Demand for it is not noise: the row shows, and no node reports the resource.
    const asked = run(
      world({ cqs, lqs, wls: [workload('ml', 'n', { queue: 'kaiwo', podSets: [{ count: 1, gpus: 1, resource: 'nvidia.com/gpu' }] })] }),
    );
    expect(reasons(asked)).to.deep.equal(['Info:SupplyNotReported']);
    expect(asked.summary?.table?.rows.map((x) => [x[2], x[7]])).to.deep.include(['nvidia.com/gpu', '1']);
  });
});

describe("check: capacity, Kaiwo's view of the nodes (KaiwoConfig)", () => {
  const labelled = (name: string) => node(name, { labels: { ...POOL, 'kaiwo/nodepool': 'amd-mi300x-8gpu-86core-900gi' } });

  it('a control-plane GPU node outside the pools is expected with excludeMasterNodesFromNodePools, not otherwise', () => {
    const nodes = [
      labelled('gpu-0'),
      node('cp-0', { labels: { ...POOL, 'node-role.kubernetes.io/control-plane': '' } }),
      node('cp-1', { labels: { ...POOL, 'node-role.kubernetes.io/master': 'true' } }),
    ];
    const names = (kaiwo: SourceView) =>
      run(world({ nodes, kaiwoConfig: kaiwo }))
        .findings.filter((f) => f.reason === 'NodeNotInKaiwoPool')
        .map((f) => f.object?.name);
    expect(names(config({ excludeMasterNodesFromNodePools: true }))).to.deep.equal([]);
    expect(names(config())).to.deep.equal(['cp-0', 'cp-1']);
  });

  it('NodeNotInKaiwoPool says when Kaiwo labels nodes: only on creating its KaiwoQueueConfig unless it updates dynamically', () => {
    const nodes = [labelled('gpu-0'), node('gpu-1', { labels: POOL }), node('gpu-2', { labels: POOL, cordoned: true, ready: false })];
    const plain = run(world({ nodes, kaiwoConfig: config() }));
    expect(plain.findings.filter((f) => f.reason === 'NodeNotInKaiwoPool').map((f) => f.object?.name)).to.deep.equal(['gpu-1']); // cordoned: Kaiwo skips it
    expect(finding(plain, 'NodeNotInKaiwoPool')?.message)
      .to.include('Kaiwo v0.1 labels nodes only when it creates the default KaiwoQueueConfig')
      .and.include('(false in KaiwoConfig kaiwo)')
      .and.include('a node added later or a label removed later stays unlabelled')
      .and.not.include('when it syncs');
    const dynamic = run(world({ nodes, kaiwoConfig: config({}, { dynamicallyUpdateDefaultClusterQueue: true }) }));
    expect(finding(dynamic, 'NodeNotInKaiwoPool')?.message)
      .to.include('Kaiwo relabels nodes on every KaiwoQueueConfig sync')
      .and.include('its sync fails');
  });

  it("NodeNotInKaiwoPool says NoGPUs when no node of the node's vendor is left in Kaiwo's pools, InsufficientGPUs otherwise", () => {
    const nodes = [labelled('gpu-0'), node('gpu-1', { labels: POOL }), node('h100-0', { resource: 'nvidia.com/gpu', labels: POOL })];
    const r = run(world({ nodes, kaiwoConfig: config() }));
    const msg = (name: string) => r.findings.find((f) => f.reason === 'NodeNotInKaiwoPool' && f.object?.name === name)?.message ?? '';
    expect(msg('h100-0')).to.include('Kaiwo refuses every nvidia job as NoGPUs').and.not.include('InsufficientGPUs');
    expect(msg('gpu-1')).to.include('Kaiwo may mark jobs InsufficientGPUs').and.not.include('NoGPUs');
  });

  it('KaiwoPoolLabelMismatch reads N as Kaiwo does: a cpu-only pool on a GPU node counts 0', () => {
    const nodes = [
      labelled('gpu-0'),
      node('gpu-1', { labels: { ...POOL, 'kaiwo/nodepool': 'cpu-only-0gpu-86core-900gi' } }),
      node('gpu-2', { labels: { ...POOL, 'kaiwo/nodepool': 'amd-mi300x-hf-8gpu-86core-900gi' } }),
    ];
    const r = run(world({ nodes }));
    const f = r.findings.filter((x) => x.reason === 'KaiwoPoolLabelMismatch');
    expect(f.map((x) => x.object?.name)).to.deep.equal(['gpu-1', 'gpu-2']);
    expect(f[0]?.message).to.include('(0 GPUs per node) but has 8 amd.com/gpu: Kaiwo counts 0 for it');
  });

  it('survives hostile nodes: labels and taints of the wrong type, a huge taint list', () => {
    const odd = node('gpu-1', { labels: POOL });
    odd.metadata.labels = { ...POOL, 'kaiwo/nodepool': 7 } as unknown as Record<string, string>;
    const many = node('gpu-2', {
      labels: POOL,
      taints: Array.from({ length: 100_000 }, (_, i) => ({ key: `k${i}`, effect: 'NoSchedule' })),
    });
    const junk = { ...node('gpu-3', { labels: POOL }), spec: { taints: 'all' } };
    const r = run(
      world({ nodes: [labelled('gpu-0'), odd, many, junk], cqs: [cq('team', 32, 0)], kaiwoConfig: config({ addTaintsToGpuNodes: true }) }),
    );
    expect(r.summary?.counts).to.include({ gpusHealthy: 24, gpusLost: 8 });
    expect(finding(r, 'QuotaExceedsHealthyCapacity')?.message).to.include('gpu-2 (tainted k0:NoSchedule, not tolerated)');
  });

  it('reads KaiwoConfig kaiwo through a source of its own, with its RBAC rule', () => {
    const defaults = applyDefaults<KaiwoMonitorSpec>(specSchema, {});
    expect(capacityCheck.sources(defaults.capacity, {}).kaiwoConfig).to.deep.equal({
      apiVersion: 'config.kaiwo.silogen.ai/v1alpha1',
      plural: 'kaiwoconfigs',
      kind: 'KaiwoConfig',
      fieldSelector: 'metadata.name=kaiwo',
      optional: true,
    });
    expect(capacityCheck.rbac).to.deep.include({
      apiGroups: ['config.kaiwo.silogen.ai'],
      resources: ['kaiwoconfigs'],
      verbs: ['get', 'list', 'watch'],
    });
  });
});
