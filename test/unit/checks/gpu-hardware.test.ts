import { isoSeconds } from '../../../src/api/time.js';
import { expect } from 'chai';
import { applyDefaults } from '../../../src/api/defaults.js';
import { resetAbsences } from '../../../src/checks/absence.js';
import { DEFAULT_AGENTS, slimAgentPod } from '../../../src/checks/gpu-agents.js';
import { type GPUHardwareSpec, gpuHardwareCheck } from '../../../src/checks/gpu-hardware.js';
import { type KaiwoMonitorSpec, specSchema } from '../../../src/checks/registry.js';
import type { CheckResult, ScrapeView, SourceView } from '../../../src/checks/types.js';
import { validateSpec } from '../../../src/controller/validate.js';
import type { KubeObject } from '../../../src/runtime/objects.js';
import type { Sample } from '../../../src/sources/promtext.js';
import { ago, gpuNode, NOW, view } from '../../support/fixtures.js';

const URL = 'http://prometheus.monitoring.svc:9090';
const READING = { signals: { enabled: true, prometheusURL: URL } };
const spec = (over: object = {}): GPUHardwareSpec => applyDefaults<KaiwoMonitorSpec>(specSchema, { gpuHardware: over }).gpuHardware;
const at = (ms: number) => new Date(NOW.getTime() + ms);
const GRACE = 120_000;

const index = (name: string) => DEFAULT_AGENTS.findIndex((a) => a.name === name);
const AMD_DS = index('AMD device plugin DaemonSet');
const NV_HELM = index('NVIDIA device plugin (Helm chart)');

function node(name: string, opts: Parameters<typeof gpuNode>[1] = {}, created = ago(86_400_000)): KubeObject {
  const n = gpuNode(name, opts);
  return { ...n, metadata: { ...n.metadata, creationTimestamp: created } };
}
const dpPod = (nodeName: string): KubeObject =>
  slimAgentPod({
    metadata: {
      name: `dp-${nodeName}`,
      namespace: 'kube-system',
      creationTimestamp: ago(3_600_000),
      ownerReferences: [{ kind: 'DaemonSet', name: 'ds' }],
    },
    spec: { nodeName },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: ago(3_600_000) }] },
  });

const sample = (signal: string | undefined, value: number, labels: Record<string, string>): Sample => ({
  name: '',
  labels: { ...(signal ? { kmon_signal: signal } : {}), ...labels },
  value,
});
const ok = (samples: Sample[] = []): ScrapeView => ({ state: 'ok', history: [{ at: NOW.getTime(), samples }] });
const ecc = (nodeName: string, gpu: string, v = 2) =>
  sample('amd_ecc_uncorrectable', v, { hostname: nodeName, gpu_id: gpu, gpu_uuid: `u-${nodeName}-${gpu}` });
/** Every hardware query answered (nothing past a threshold), the coverage naming `covered`. */
const scrapesOf = (covered: string[], over: Record<string, ScrapeView> = {}): Record<string, ScrapeView> => ({
  'hw.health': ok(),
  'hw.memory': ok(),
  'hw.errors': ok(),
  'hw.thermal': ok(),
  'hw.pcie': ok(),
  'hw.coverage': ok(covered.map((n) => sample(undefined, 1, { hostname: n }))),
  ...over,
});

interface Run {
  nodes?: KubeObject[] | SourceView;
  /** Pods per install index; default: a Ready device-plugin pod on every GPU node (AMD DaemonSet / NVIDIA Helm). */
  pods?: Partial<Record<number, KubeObject[]>>;
  views?: Partial<Record<number, SourceView>>;
  scrapes?: Record<string, ScrapeView>;
  now?: Date;
  over?: object;
}
const NODES = [node('gpu-0'), node('gpu-1')];

function run(r: Run = {}): CheckResult {
  const s = spec(r.over ?? READING);
  const nodes = r.nodes ?? NODES;
  const list = Array.isArray(nodes) ? nodes : nodes.objects;
  const pods = r.pods ?? {
    [AMD_DS]: list
      .filter((n) => (n.status as { capacity: Record<string, string> }).capacity['amd.com/gpu'])
      .map((n) => dpPod(n.metadata.name)),
    [NV_HELM]: list
      .filter((n) => (n.status as { capacity: Record<string, string> }).capacity['nvidia.com/gpu'])
      .map((n) => dpPod(n.metadata.name)),
  };
  const data: Record<string, SourceView> = { nodes: Array.isArray(nodes) ? view(nodes) : nodes };
  for (const name of Object.keys(gpuHardwareCheck.sources(s, {}))) {
    if (name === 'nodes') continue;
    const i = Number(name.slice('agent'.length));
    data[name] = r.views?.[i] ?? view(pods[i] ?? []);
  }
  return gpuHardwareCheck.evaluate({
    spec: s,
    data,
    scrapes: r.scrapes ?? scrapesOf(list.map((n) => n.metadata.name)),
    now: r.now ?? NOW,
    env: {},
  });
}
const reasons = (r: CheckResult) => r.findings.map((f) => `${f.severity}:${f.reason}:${f.object?.name ?? ''}`);

describe('check: GPU hardware', () => {
  beforeEach(resetAbsences);
  after(resetAbsences);

  it('declares the nodes and one pods source per agent install, and the six queries only when signals are read', () => {
    expect(Object.keys(gpuHardwareCheck.sources(spec(), {}))).to.deep.equal(['nodes', ...DEFAULT_AGENTS.map((_, i) => `agent${i}`)]);
    expect(Object.keys(gpuHardwareCheck.sources(spec({ agents: { enabled: false } }), {}))).to.deep.equal(['nodes']);
    expect(gpuHardwareCheck.scrapes?.(spec())).to.deep.equal({});
    expect(Object.keys(gpuHardwareCheck.scrapes?.(spec(READING)) ?? {})).to.deep.equal([
      'hw.health',
      'hw.memory',
      'hw.errors',
      'hw.thermal',
      'hw.pcie',
      'hw.coverage',
    ]);
  });

  it('is NotObserved until the nodes are listed, and while an agent source lists for the first time', () => {
    expect(run({ nodes: view([], 'pending') })).to.include({ status: 'Unknown', reason: 'NotObserved' });
    const listing = run({ views: { 3: { state: 'pending', objects: [] } } });
    expect(listing).to.include({ status: 'Unknown', reason: 'NotObserved' });
    expect(listing.message).to.equal('waiting for the first list of agent3');
  });

  it('does not wait for an optional agent source whose first list failed (forbidden): evaluated without it', () => {
    const r = run({ views: { 3: { state: 'pending', error: 'pods is forbidden', objects: [] } } });
    expect(r).to.include({ status: 'True', reason: 'GPUHardwareHealthy' });
  });

  it('without signals: True with "hardware signals not read", the node count as display, the agents still checked', () => {
    const r = run({ over: {} });
    expect(r).to.include({
      status: 'True',
      reason: 'GPUHardwareHealthy',
      message: '2 GPU nodes: hardware signals not read (signals.enabled is false)',
    });
    expect(r.summary?.display).to.equal('2 GPU nodes');
    expect(r.summary?.counts).to.deep.equal({ gpuNodes: 2, devicePluginNodes: 2, devicePluginReady: 2 });
    const none = run({ over: {}, pods: {} });
    expect(none.message).to.equal('2 GPU nodes: hardware signals not read (signals.enabled is false); no node agent found');
  });

  it('healthy with signals read: True, no signal past its threshold, 0 GPUs failing', () => {
    const r = run();
    expect(r).to.include({ status: 'True', reason: 'GPUHardwareHealthy', message: '2 GPU nodes: no hardware signal past its threshold' });
    expect(r.summary?.display).to.equal('0 GPUs failing');
    expect(r.summary?.counts).to.include({ gpuNodes: 2, criticalGPUs: 0, degradedGPUs: 0, watchedNodes: 2 });
    expect(r.findings).to.deep.equal([]);
  });

  it('a Critical signal makes it False with its reason and message, a finding on the node', () => {
    const r = run({ scrapes: scrapesOf(['gpu-0', 'gpu-1'], { 'hw.memory': ok([ecc('gpu-1', '5')]) }) });
    expect(r).to.include({ status: 'False', reason: 'GPUUncorrectableECC' });
    expect(r.message).to.equal('GPU 5 (u-gpu-1-5) on gpu-1: 2 uncorrectable ECC errors in 10m (gpu_ecc_uncorrect_total)');
    expect(r.findings).to.deep.equal([
      {
        severity: 'Critical',
        reason: 'GPUUncorrectableECC',
        object: { apiVersion: 'v1', kind: 'Node', name: 'gpu-1' },
        message: r.message,
      },
    ]);
    expect(r.summary?.display).to.equal('1 GPU failing');
  });

  it('summary counts distinct failing and degraded GPUs, watched nodes, unmatched series and application XIDs', () => {
    const nodes = [node('gpu-0'), node('gpu-1'), node('dgx-1', { vendor: 'nvidia' })];
    const r = run({
      nodes,
      scrapes: scrapesOf(['gpu-0', 'dgx-1'], {
        'hw.health': ok([sample('amd_gpu_health', 0, { hostname: 'gpu-0', gpu_id: '1', gpu_uuid: 'u-gpu-0-1' })]),
        'hw.memory': ok([ecc('gpu-0', '1'), ecc('gpu-0', '2'), ecc('elsewhere', '0')]),
        'hw.errors': ok([
          sample('nvidia_xid_last', 13, { Hostname: 'dgx-1', gpu: '0', UUID: 'GPU-a' }),
          sample('nvidia_xid_last', 94, { Hostname: 'dgx-1', gpu: '1', UUID: 'GPU-b' }),
        ]),
        'hw.thermal': ok([sample('amd_edge_temperature', 95, { hostname: 'gpu-0', gpu_id: '1', gpu_uuid: 'u-gpu-0-1' })]),
      }),
    });
    expect(r.status).to.equal('False');
    expect(r.summary?.display).to.equal('2 GPUs failing');
    expect(r.summary?.counts).to.include({
      gpuNodes: 3,
      criticalGPUs: 2,
      degradedGPUs: 2,
      watchedNodes: 2,
      unmatchedSeries: 1,
      applicationXids: 1,
    });
    expect(r.message).to.match(/^3 problems: /);
    // gpu-1 has no exporter series: only a clock started, reported after missingGrace.
    expect(reasons(r).filter((x) => x.includes('GPUMetricsMissing'))).to.deep.equal([]);
    expect(r.nextCheckAt?.getTime()).to.equal(NOW.getTime() + GRACE);
  });

  it('a failing query makes it Unknown with the failure, unless a Critical signal already decides', () => {
    const failing: ScrapeView = {
      state: 'failing',
      reason: 'PrometheusQueryFailed',
      error: 'bad_data: parse error',
      failures: 3,
      history: [],
    };
    const r = run({ scrapes: scrapesOf(['gpu-0', 'gpu-1'], { 'hw.thermal': failing }) });
    expect(r).to.include({
      status: 'Unknown',
      reason: 'PrometheusQueryFailed',
      message: 'GPU hardware (thermal) metrics: bad_data: parse error',
    });
    expect(r.summary?.counts).to.include({ gpuNodes: 2 });
    const critical = run({ scrapes: scrapesOf(['gpu-0', 'gpu-1'], { 'hw.thermal': failing, 'hw.memory': ok([ecc('gpu-0', '0')]) }) });
    expect(critical).to.include({ status: 'False', reason: 'GPUUncorrectableECC' });
    const pending = run({ scrapes: scrapesOf(['gpu-0', 'gpu-1'], { 'hw.health': { state: 'pending', history: [] } }) });
    expect(pending).to.include({
      status: 'Unknown',
      reason: 'MetricsNotScraped',
      message: 'GPU hardware (health) metrics not scraped yet',
    });
    // A Warning does not decide: still Unknown.
    const warned = run({
      scrapes: scrapesOf(['gpu-0', 'gpu-1'], {
        'hw.thermal': failing,
        'hw.pcie': ok([sample('amd_pcie_replays', 500, { hostname: 'gpu-0', gpu_id: '0' })]),
      }),
    });
    expect(warned.status).to.equal('Unknown');
    expect(reasons(warned)).to.deep.equal(['Warning:GPUPCIeReplays:gpu-0']);
  });

  it('a GPU node missing from the coverage answer is a Warning GPUMetricsMissing only after missingGrace', () => {
    const scrapes = scrapesOf(['gpu-0']);
    const first = run({ scrapes });
    expect(first.status).to.equal('True');
    expect(first.findings).to.deep.equal([]);
    expect(first.summary?.counts).to.include({ watchedNodes: 1 });
    expect(first.nextCheckAt?.getTime()).to.equal(NOW.getTime() + GRACE);
    expect(run({ scrapes, now: at(GRACE - 1000) }).findings).to.deep.equal([]);
    const after = run({ scrapes, now: at(GRACE + 1000) });
    expect(after).to.include({ status: 'True', message: '2 GPU nodes: no hardware signal past its threshold (1 warning)' });
    expect(reasons(after)).to.deep.equal(['Warning:GPUMetricsMissing:gpu-1']);
    const f = after.findings[0];
    expect(f?.message)
      .to.include('GPU node gpu-1: no exporter series in Prometheus for more than 2m')
      .and.include('node, kubernetes_node, Hostname, hostname');
    expect(f?.since).to.equal(isoSeconds(NOW));
    // No ticking duration: the same finding an hour later.
    expect(run({ scrapes, now: at(3_600_000) }).findings).to.deep.equal(after.findings);
    // Seen again: forgotten; missing again: a new grace.
    expect(run({ scrapes: scrapesOf(['gpu-0', 'gpu-1']), now: at(3_700_000) }).findings).to.deep.equal([]);
    expect(run({ scrapes, now: at(3_800_000) }).findings).to.deep.equal([]);
  });

  it('a GPU node younger than missingGrace is not judged (recreated under the same name); missingGrace 0s reports at once', () => {
    run({ scrapes: scrapesOf(['gpu-0']) });
    const recreated = [node('gpu-0'), node('gpu-1', {}, at(9 * 60_000).toISOString())];
    const r = run({ nodes: recreated, scrapes: scrapesOf(['gpu-0']), now: at(10 * 60_000) });
    expect(r.findings).to.deep.equal([]);
    expect(r.nextCheckAt?.getTime()).to.equal(at(11 * 60_000).getTime());
    const later = run({ nodes: recreated, scrapes: scrapesOf(['gpu-0']), now: at(11 * 60_000 + 1000) });
    expect(reasons(later)).to.deep.equal(['Warning:GPUMetricsMissing:gpu-1']);
    expect(later.findings[0]?.since).to.equal(isoSeconds(at(9 * 60_000)));
    resetAbsences();
    const now = run({ over: { signals: { ...READING.signals, missingGrace: '0s' } }, scrapes: scrapesOf(['gpu-0']) });
    expect(reasons(now)).to.deep.equal(['Warning:GPUMetricsMissing:gpu-1']);
  });

  it('no GPU node covered at all: Unknown NoHardwareMetrics (blind, not healthy), findings and summary kept', () => {
    const scrapes = scrapesOf([], { 'hw.pcie': ok([sample('amd_pcie_replays', 500, { hostname: 'gpu-0', gpu_id: '0' })]) });
    const r = run({ scrapes, now: at(GRACE * 10) });
    expect(r).to.include({ status: 'Unknown', reason: 'NoHardwareMetrics' });
    expect(r.message).to.include('for any of the 2 GPU nodes').and.include('node, kubernetes_node, Hostname, hostname');
    expect(reasons(r)).to.deep.equal(['Warning:GPUPCIeReplays:gpu-0']);
    expect(r.summary?.counts).to.include({ watchedNodes: 0, gpuNodes: 2 });
    // Series under other labels: the answer names other nodes only.
    expect(run({ scrapes: scrapesOf(['not-a-node']) })).to.include({ reason: 'NoHardwareMetrics' });
    // A Critical signal still decides.
    const critical = run({ scrapes: scrapesOf([], { 'hw.memory': ok([ecc('gpu-0', '0')]) }) });
    expect(critical).to.include({ status: 'False', reason: 'GPUUncorrectableECC' });
    // Without GPU nodes there is nothing to be blind to.
    expect(run({ nodes: [], scrapes: scrapesOf([]) })).to.include({ status: 'True' });
  });

  it('a failing coverage query is Unknown with its failure, and judges no node missing', () => {
    const failing: ScrapeView = { state: 'failing', reason: 'MetricsUnreachable', error: 'connection refused', history: [] };
    const r = run({ scrapes: scrapesOf([], { 'hw.coverage': failing }), now: at(GRACE * 10) });
    expect(r).to.include({
      status: 'Unknown',
      reason: 'MetricsUnreachable',
      message: 'GPU hardware (coverage) metrics: connection refused',
    });
    expect(r.findings).to.deep.equal([]);
  });

  it('a GPU node without a Ready device-plugin pod for the grace makes it False (DevicePluginMissing)', () => {
    const pods = { [AMD_DS]: [dpPod('gpu-0')] };
    expect(run({ pods }).status).to.equal('True');
    const r = run({ pods, now: at(GRACE + 1000) });
    expect(r).to.include({ status: 'False', reason: 'DevicePluginMissing' });
    expect(r.message).to.include('GPU node gpu-1: no device plugin pod runs there');
    expect(r.summary?.counts).to.include({ devicePluginNodes: 2, devicePluginReady: 1 });
  });

  it("a node whose dead device plugin took its GPU resource, known by the vendor's label, still needs a device plugin", () => {
    const nodes = [node('gpu-0'), node('gpu-2', { noResource: true, labels: { 'feature.node.kubernetes.io/amd-gpu': 'true' } })];
    const pods = { [AMD_DS]: [dpPod('gpu-0')] };
    run({ nodes, pods });
    const r = run({ nodes, pods, now: at(GRACE + 1000) });
    expect(r).to.include({ status: 'False', reason: 'DevicePluginMissing' });
    expect(reasons(r)).to.deep.equal(['Critical:DevicePluginMissing:gpu-2']);
    expect(r.summary?.counts).to.include({ gpuNodes: 1, devicePluginNodes: 2, devicePluginReady: 1 });
  });

  it('validateSpec names the list item of an invalid agent selector (list[].field paths)', () => {
    const agents = [DEFAULT_AGENTS[0], { ...DEFAULT_AGENTS[1], podSelector: { matchLabels: { 'bad key!': 'x' } } }];
    const bad = applyDefaults<Record<string, unknown>>(specSchema, { gpuHardware: { agents: { daemonSets: agents } } });
    const msg = validateSpec(bad);
    expect(msg).to.be.a('string');
    expect(msg).to.include('spec.gpuHardware.agents.daemonSets[1].podSelector.matchLabels');
    expect(msg).to.not.include('daemonSets[0]');
    const badNode = applyDefaults<Record<string, unknown>>(specSchema, {
      gpuHardware: {
        agents: {
          daemonSets: [
            DEFAULT_AGENTS[0],
            DEFAULT_AGENTS[1],
            { ...DEFAULT_AGENTS[2], nodeSelector: { matchExpressions: [{ key: 'ok', operator: 'Near', values: [] }] } },
          ],
        },
      },
    });
    expect(validateSpec(badNode)).to.include(
      'spec.gpuHardware.agents.daemonSets[2].nodeSelector.matchExpressions[0]: unknown operator Near',
    );
    expect(validateSpec(applyDefaults<Record<string, unknown>>(specSchema, {}))).to.equal(undefined);
  });
});
