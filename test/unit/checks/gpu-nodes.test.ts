import { expect } from 'chai';
import { applyDefaults } from '../../../src/api/defaults.js';
import { type KaiwoMonitorSpec, specSchema } from '../../../src/checks/registry.js';
import { defaultUtilizationQuery, gpuNodesCheck, utilizationFindings } from '../../../src/checks/gpu-nodes.js';
import type { KubeObject } from '../../../src/runtime/objects.js';
import { ago, gpuNode, NOW, view } from '../../support/fixtures.js';

const spec = (over: object = {}) => applyDefaults<KaiwoMonitorSpec>(specSchema, { gpuNodes: over }).gpuNodes;
const run = (nodes: KubeObject[], over: object = {}, state: 'synced' | 'pending' = 'synced') =>
  gpuNodesCheck.evaluate({ spec: spec(over), data: { nodes: view(nodes, state) }, scrapes: {}, now: NOW, env: {} });
const fleet = (n: number, vendor: 'amd' | 'nvidia' = 'amd') =>
  Array.from({ length: n }, (_, i) => gpuNode(`gpu-${String(i).padStart(2, '0')}`, { vendor }));

describe('check: GPU nodes', () => {
  it('is Unknown before the node list arrives, and when there are no GPU nodes', () => {
    expect(run([], {}, 'pending')).to.include({ status: 'Unknown', reason: 'NotObserved' });
    expect(run([{ metadata: { name: 'cpu-1' }, status: { capacity: { cpu: '8' } } }])).to.include({
      status: 'Unknown',
      reason: 'NoGPUNodes',
    });
  });

  it('is healthy for ready AMD and NVIDIA nodes and summarises them', () => {
    const r = run([...fleet(3, 'amd'), gpuNode('dgx-1', { vendor: 'nvidia' })]);
    expect(r.status).to.equal('True');
    expect(r.summary?.display).to.equal('4/4 ready');
    expect(r.summary?.counts).to.include({ gpusInstalled: 32, gpusAvailable: 32 });
    expect(r.message).to.equal('4/4 GPU nodes ready, 32/32 GPUs available');
  });

  it('names NotReady nodes and goes False below the ready threshold', () => {
    const nodes = fleet(32);
    for (const i of [7, 12, 19]) nodes[i] = gpuNode(`gpu-${i}`, { ready: false, readySince: ago(30_000) });
    expect(run(nodes).status, '90.6% ready meets the default 90%').to.equal('True');
    const r = run(nodes, { minReadyPercent: 95 });
    expect(r.status).to.equal('False');
    expect(r.reason).to.equal('GPUNodesNotReady');
    expect(r.message).to.include('3 of 32 GPU nodes NotReady: gpu-12, gpu-19, gpu-7');
    // Still under maxNotReadyDuration: per-node Warnings, and a re-check exactly when 5 m is reached.
    expect(r.findings.filter((f) => f.reason === 'NodeNotReady').map((f) => f.severity)).to.deep.equal(['Warning', 'Warning', 'Warning']);
    expect(r.nextCheckAt?.getTime()).to.equal(NOW.getTime() + 270_000);
  });

  it('makes one node NotReady past maxNotReadyDuration Critical on its own', () => {
    const nodes = fleet(40);
    nodes[0] = gpuNode('gpu-00', { ready: false, readySince: ago(600_000) });
    const r = run(nodes);
    expect(r.status).to.equal('False');
    expect(r.reason).to.equal('NodeNotReady');
    expect(r.message).to.include('for more than 5m');
  });

  it('counts cordoned nodes apart: maintenance is not an outage', () => {
    const nodes = fleet(4);
    nodes[0] = gpuNode('gpu-00', { cordoned: true, ready: false });
    const r = run(nodes);
    expect(r.status).to.equal('True');
    expect(r.summary?.counts).to.include({ cordoned: 1, ready: 3 });
    expect(r.findings.map((f) => f.reason)).to.deep.equal(['NodeCordoned']);
  });

  it('reports lost GPUs per node and goes False when available GPUs fall below the threshold', () => {
    const few = run([gpuNode('a', { allocatable: 7 }), ...fleet(9)]);
    expect(few.status).to.equal('True');
    expect(few.findings[0]).to.include({ reason: 'GPUsLost', severity: 'Warning' });
    expect(few.findings[0]?.message).to.include('1 of 8 amd.com/gpu on a unhealthy');
    const many = run([gpuNode('a', { allocatable: 4 }), gpuNode('b', { allocatable: 4 }), gpuNode('c')]);
    expect(many).to.include({ status: 'False', reason: 'GPUsUnavailable' });
    expect(many.message).to.include('16 of 24 GPUs');
  });

  it('flags NPD GPU problem conditions as Critical and AMD exporter health labels as Warnings', () => {
    const r = run([
      gpuNode('a', { conditions: [{ type: 'AMDGPUProblem', status: 'True', reason: 'AMDGPUIsDown', message: 'ecc' }] }),
      gpuNode('b', { labels: { 'metricsexporter.amd.com.gpu.3.state': 'unhealthy', 'metricsexporter.amd.com.gpu.5.state': 'unhealthy' } }),
      ...fleet(8),
    ]);
    expect(r).to.include({ status: 'False', reason: 'GPUProblem' });
    const label = r.findings.find((f) => f.reason === 'GPUUnhealthy');
    expect(label?.message).to.include('GPU 3, 5 on b');
  });

  it('finds DRA nodes without extended resources through the node selector', () => {
    const dra = gpuNode('dra-1', { noResource: true, labels: { 'feature.node.kubernetes.io/amd-gpu': 'true' } });
    expect(run([dra]).reason).to.equal('NoGPUNodes');
    const r = run([dra], { nodeSelector: { matchLabels: { 'feature.node.kubernetes.io/amd-gpu': 'true' } } });
    expect(r.status).to.equal('True');
    expect(r.summary?.display).to.equal('1/1 ready');
  });

  it('reports pressure conditions as Warnings', () => {
    const r = run([gpuNode('a', { conditions: [{ type: 'DiskPressure', status: 'True' }] }), ...fleet(3)]);
    expect(r.status).to.equal('True');
    expect(r.findings[0]).to.include({ reason: 'DiskPressure', severity: 'Warning' });
  });

  it('keeps its message stable while nothing changes (no ticking durations)', () => {
    const nodes = [gpuNode('a', { ready: false, readySince: ago(30_000) }), ...fleet(20)];
    const later = new Date(NOW.getTime() + 20_000);
    const a = gpuNodesCheck.evaluate({ spec: spec(), data: { nodes: view(nodes) }, scrapes: {}, now: NOW, env: {} });
    const b = gpuNodesCheck.evaluate({ spec: spec(), data: { nodes: view(nodes) }, scrapes: {}, now: later, env: {} });
    expect(b.findings).to.deep.equal(a.findings);
    expect(b.message).to.equal(a.message);
  });
});

describe('check: GPU utilization (from PromQL samples)', () => {
  const u = spec().utilization;
  const s = (pod: string, value: number, ns = 'ml') => ({ name: '', labels: { pod, namespace: ns, gpu_id: String(value) }, value });
  const viewOf = (samples: { name: string; labels: Record<string, string>; value: number }[]) => ({
    state: 'ok' as const,
    history: [{ at: 0, samples }],
  });

  it('groups idle GPUs per pod, ignores unallocated GPUs, and averages cluster-wide', () => {
    const r = utilizationFindings(viewOf([s('idle', 1), s('idle', 3), s('busy', 80), s('', 0, '')]), u);
    expect(r.findings.map((f) => f.object?.name)).to.deep.equal(['idle']);
    expect(r).to.include({ percent: 21, idle: 2 });
  });

  it('skips NaN/Inf series and handles an empty result', () => {
    expect(utilizationFindings(viewOf([s('p', NaN), s('q', Infinity)]), u)).to.deep.equal({ findings: [], idle: 0 });
    expect(utilizationFindings(undefined, u)).to.deep.equal({ findings: [], idle: 0 });
  });

  it('queries AMD and NVIDIA utilization over the idle window by default', () => {
    expect(defaultUtilizationQuery('30m')).to.equal('avg_over_time(gpu_gfx_activity[30m]) or avg_over_time(DCGM_FI_DEV_GPU_UTIL[30m])');
    const sc = gpuNodesCheck.scrapes?.(spec({ utilization: { enabled: true, prometheusURL: 'http://p:9090' } })).utilization;
    expect(sc).to.deep.include({ url: 'http://p:9090', query: defaultUtilizationQuery('30m'), intervalMs: 60_000, failureGraceMs: 30_000 });
  });

  it('is Unknown/PrometheusQueryFailed when the query fails and nothing is Critical', () => {
    const failing = { state: 'failing' as const, reason: 'PrometheusQueryFailed' as const, error: 'connection refused', history: [] };
    const r = gpuNodesCheck.evaluate({
      spec: spec({ utilization: { enabled: true, prometheusURL: 'http://p' } }),
      data: { nodes: view(fleet(2)) },
      scrapes: { utilization: failing },
      now: NOW,
      env: {},
    });
    expect(r).to.include({ status: 'Unknown', reason: 'PrometheusQueryFailed' });
  });
});
