import { isoSeconds } from '../../../src/api/time.js';
import { expect } from 'chai';
import { applyDefaults } from '../../../src/api/defaults.js';
import { absentSince, resetAbsences } from '../../../src/checks/absence.js';
import { agentFindings, type AgentsSpec, agentSources, DEFAULT_AGENTS, slimAgentPod } from '../../../src/checks/gpu-agents.js';
import { type KaiwoMonitorSpec, specSchema } from '../../../src/checks/registry.js';
import type { SourceView } from '../../../src/checks/types.js';
import { type F, NextCheck } from '../../../src/checks/util.js';
import type { KubeObject } from '../../../src/runtime/objects.js';
import { ago, gpuNode, NOW } from '../../support/fixtures.js';

const AGENTS: AgentsSpec = applyDefaults<KaiwoMonitorSpec>(specSchema, {}).gpuHardware.agents;
const GRACE = 120_000;
const RESOURCES = ['amd.com/gpu', 'nvidia.com/gpu'];
const at = (ms: number) => new Date(NOW.getTime() + ms);
const iso = (ms: number) => isoSeconds(at(ms));

const index = (name: string) => {
  const i = DEFAULT_AGENTS.findIndex((a) => a.name === name);
  expect(i, name).to.be.at.least(0);
  return i;
};
const AMD_OPERATOR = index('AMD GPU operator device plugin');
const AMD_DS = index('AMD device plugin DaemonSet');
const AMD_EXPORTER = index('AMD device-metrics-exporter');
const NV_OPERATOR = index('NVIDIA GPU operator device plugin');
const NV_HELM = index('NVIDIA device plugin (Helm chart)');
const NPD = index('node-problem-detector');

/** A GPU node created a day before NOW (or at `created`). */
function node(name: string, opts: Parameters<typeof gpuNode>[1] = {}, created = ago(86_400_000)): KubeObject {
  const n = gpuNode(name, opts);
  return { ...n, metadata: { ...n.metadata, creationTimestamp: created } };
}
const cpuNode = (name: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name, creationTimestamp: ago(86_400_000), labels: { 'kubernetes.io/hostname': name } },
  status: { capacity: { cpu: '8' }, allocatable: { cpu: '8' } },
});

interface PodOpts {
  namespace?: string;
  /** Ready condition status; undefined: Ready. */
  ready?: boolean;
  /** No Ready condition at all (just created). */
  noReady?: boolean;
  readySince?: string;
  created?: string;
  owner?: string;
  deleting?: boolean;
}

/** An agent pod as the informer caches it (through slimAgentPod, the source's transform). */
function pod(name: string, nodeName: string | undefined, o: PodOpts = {}): KubeObject {
  const ready = o.ready ?? true;
  return slimAgentPod({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: o.namespace ?? 'kube-system',
      uid: `uid-${name}`,
      resourceVersion: '7',
      creationTimestamp: o.created ?? ago(3_600_000),
      labels: { name: 'amdgpu-dp-ds', 'pod-template-generation': '1' },
      annotations: { big: 'x'.repeat(1000) },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: o.owner ?? 'amdgpu-device-plugin-daemonset', controller: true }],
      ...(o.deleting ? { deletionTimestamp: ago(5_000) } : {}),
    },
    spec: { ...(nodeName ? { nodeName } : {}), containers: [{ name: 'c', image: 'i' }] },
    status: {
      phase: ready ? 'Running' : 'Pending',
      conditions: [
        { type: 'PodScheduled', status: 'True', lastTransitionTime: ago(3_600_000) },
        ...(o.noReady ? [] : [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: o.readySince ?? ago(3_600_000) }]),
      ],
    },
  });
}
const operatorPod = (name: string, nodeName: string, owner = 'gpu-operator-device-plugin', o: PodOpts = {}) =>
  pod(name, nodeName, { namespace: 'kube-amd-gpu', owner, ...o });

/** Every install's source listed (synced) with the given pods by install index; `views` replaces a source's view. */
function dataOf(pods: Partial<Record<number, KubeObject[]>>, views: Partial<Record<number, SourceView>> = {}, spec = AGENTS) {
  return Object.fromEntries(
    spec.daemonSets.map((_, i) => [`agent${i}`, views[i] ?? { state: 'synced' as const, objects: pods[i] ?? [] }]),
  ) as Record<string, SourceView>;
}

function run(
  nodes: KubeObject[],
  pods: Partial<Record<number, KubeObject[]>>,
  now = NOW,
  o: { spec?: AgentsSpec; views?: Partial<Record<number, SourceView>> } = {},
) {
  const next = new NextCheck(now);
  const r = agentFindings(o.spec ?? AGENTS, dataOf(pods, o.views, o.spec), nodes, RESOURCES, now, next);
  return { ...r, next: next.at };
}
const reasons = (r: { findings: readonly F[] }) => r.findings.map((f) => `${f.severity}:${f.reason}:${f.object?.name ?? ''}`);

describe('GPU node agents', () => {
  beforeEach(resetAbsences);
  after(resetAbsences);

  it('a GPU node without a Ready device-plugin pod is Critical DevicePluginMissing, only once missing for the grace', () => {
    const nodes = [node('gpu-0'), node('gpu-1')];
    const pods = { [AMD_DS]: [pod('amdgpu-dp-a', 'gpu-0')] };
    const first = run(nodes, pods, NOW);
    expect(first.findings).to.deep.equal([]);
    expect(first.next, 're-evaluated exactly at the grace deadline').to.equal(NOW.getTime() + GRACE);
    expect(first.counts).to.deep.equal({ devicePluginNodes: 2, devicePluginReady: 1 });
    const before = run(nodes, pods, at(GRACE - 1000));
    expect(before.findings).to.deep.equal([]);
    expect(before.next).to.equal(NOW.getTime() + GRACE);
    const after = run(nodes, pods, at(GRACE + 1000));
    expect(reasons(after)).to.deep.equal(['Critical:DevicePluginMissing:gpu-1']);
    const f = after.findings[0];
    expect(f?.object).to.deep.equal({ apiVersion: 'v1', kind: 'Node', name: 'gpu-1' });
    expect(f?.since).to.equal(isoSeconds(NOW));
    expect(f?.message)
      .to.include('GPU node gpu-1: no device plugin pod runs there (AMD GPU operator device plugin / AMD device plugin DaemonSet)')
      .and.include('for more than 2m: its GPUs cannot be allocated');
    expect(after.next, 'nothing left to wait for').to.equal(undefined);
    expect(after.counts).to.deep.equal({ devicePluginNodes: 2, devicePluginReady: 1 });
  });

  it('a source failing after its first list is judged on its last list; one never listed (forbidden) is said, not guessed', () => {
    const nodes = [node('gpu-0'), node('gpu-1')];
    const failing: SourceView = { state: 'failing', error: 'watch closed', objects: [pod('amdgpu-dp-a', 'gpu-0')] };
    const views = { [AMD_DS]: failing };
    run(nodes, {}, NOW, { views });
    const later = run(nodes, {}, at(GRACE + 1000), { views });
    expect(reasons(later)).to.deep.equal(['Critical:DevicePluginMissing:gpu-1']);
    expect(later.counts).to.include({ devicePluginReady: 1 });

    const forbidden: SourceView = { state: 'pending', error: 'pods is forbidden', objects: [] };
    const r = run(nodes, {}, NOW, { views: { [AMD_DS]: forbidden } });
    const info = r.findings.find((f) => f.reason === 'AgentPodsUnreadable');
    expect(info?.severity).to.equal('Info');
    expect(info?.message).to.include('AMD device plugin DaemonSet (pods is forbidden)').and.include('not checked');
    expect(r.notInstalled).to.not.include('AMD device plugin DaemonSet');
  });

  it('keeps the finding stable while nothing changes (no ticking duration in its message)', () => {
    const nodes = [node('gpu-0'), node('gpu-1')];
    const pods = { [AMD_DS]: [pod('amdgpu-dp-a', 'gpu-0')] };
    run(nodes, pods, NOW);
    const a = run(nodes, pods, at(GRACE + 1000));
    const b = run(nodes, pods, at(GRACE + 7 * 60_000));
    expect(a.findings).to.have.length(1);
    expect(b.findings).to.deep.equal(a.findings);
  });

  it('exporter and node-problem-detector missing are Warnings (GPUExporterMissing, ProblemDetectorMissing)', () => {
    const nodes = [node('gpu-0'), node('gpu-1')];
    const pods = {
      [AMD_DS]: [pod('dp-0', 'gpu-0'), pod('dp-1', 'gpu-1')],
      [AMD_EXPORTER]: [pod('exporter-1', 'gpu-1', { namespace: 'monitoring' })],
      [NPD]: [pod('npd-1', 'gpu-1')],
    };
    run(nodes, pods, NOW);
    const r = run(nodes, pods, at(GRACE + 1000));
    expect(reasons(r)).to.deep.equal(['Warning:GPUExporterMissing:gpu-0', 'Warning:ProblemDetectorMissing:gpu-0']);
    expect(r.findings[0]?.message).to.include('no metrics exporter pod runs there (AMD device-metrics-exporter)').and.include('blind');
    expect(r.findings[1]?.message).to.include('no node-problem-detector pod runs there (node-problem-detector)');
    expect(r.counts).to.deep.equal({
      devicePluginNodes: 2,
      devicePluginReady: 2,
      exporterNodes: 2,
      exporterReady: 1,
      problemDetectorNodes: 2,
      problemDetectorReady: 1,
    });
  });

  it('a role none of whose pods exists anywhere is not installed: not checked, its installs listed', () => {
    const nodes = [node('gpu-0'), node('dgx-1', { vendor: 'nvidia' })];
    const pods = { [AMD_DS]: [pod('dp-0', 'gpu-0')] };
    run(nodes, pods, NOW);
    const r = run(nodes, pods, at(GRACE * 10));
    expect(r.findings, 'no NVIDIA device plugin, exporter or NPD anywhere: nothing to miss').to.deep.equal([]);
    expect(r.counts).to.deep.equal({ devicePluginNodes: 1, devicePluginReady: 1 });
    expect(r.notInstalled).to.deep.equal(DEFAULT_AGENTS.filter((_, i) => i !== AMD_DS).map((a) => a.name));
    // A source never listed (no view) or whose first list failed leaves its install unchecked and unlisted.
    const failed = run(nodes, pods, at(GRACE * 10), { views: { [NPD]: { state: 'pending', error: 'forbidden', objects: [] } } });
    expect(failed.notInstalled).to.not.include('node-problem-detector');
    expect(failed.counts).to.not.have.property('problemDetectorNodes');
  });

  it('counts each role over its resources: AMD and NVIDIA device plugins both count as devicePluginNodes', () => {
    const nodes = [node('gpu-0'), node('dgx-1', { vendor: 'nvidia' }), node('dgx-2', { vendor: 'nvidia' })];
    const pods = { [AMD_DS]: [pod('dp-0', 'gpu-0')], [NV_HELM]: [pod('nv-1', 'dgx-1', { namespace: 'nvidia' })] };
    run(nodes, pods, NOW);
    const r = run(nodes, pods, at(GRACE + 1000));
    expect(reasons(r)).to.deep.equal(['Critical:DevicePluginMissing:dgx-2']);
    expect(r.findings[0]?.message).to.include(
      '(NVIDIA GPU operator device plugin / NVIDIA device plugin (Helm chart) / NVIDIA device plugin DaemonSet)',
    );
    expect(r.counts).to.deep.equal({ devicePluginNodes: 3, devicePluginReady: 2 });
  });

  it('installs of one role are alternatives: a Ready pod of either the AMD operator or the standalone DaemonSet serves a node', () => {
    const nodes = [node('gpu-0'), node('gpu-1')];
    const pods = { [AMD_OPERATOR]: [operatorPod('op-dp-0', 'gpu-0')], [AMD_DS]: [pod('dp-1', 'gpu-1')] };
    run(nodes, pods, NOW);
    const r = run(nodes, pods, at(GRACE * 5));
    expect(r.findings).to.deep.equal([]);
    expect(r.counts).to.deep.equal({ devicePluginNodes: 2, devicePluginReady: 2 });
    expect(r.notInstalled).to.not.include('AMD GPU operator device plugin').and.not.include('AMD device plugin DaemonSet');
  });

  it("ownerSuffix: the AMD operator's node-labeller pods (same labels) do not stand in for its device plugin", () => {
    const nodes = [node('gpu-0'), node('gpu-1')];
    const pods = {
      [AMD_OPERATOR]: [
        operatorPod('labeller-0', 'gpu-0', 'gpu-operator-node-labeller'),
        operatorPod('labeller-1', 'gpu-1', 'gpu-operator-node-labeller'),
        operatorPod('op-dp-1', 'gpu-1'),
      ],
    };
    run(nodes, pods, NOW);
    const r = run(nodes, pods, at(GRACE + 1000));
    expect(reasons(r)).to.deep.equal(['Critical:DevicePluginMissing:gpu-0']);
    expect(r.findings[0]?.message).to.include('no device plugin pod runs there');
    // Only node-labeller pods: the operator's device plugin is not installed at all.
    const labellers = { [AMD_OPERATOR]: [operatorPod('labeller-0', 'gpu-0', 'gpu-operator-node-labeller')] };
    const none = run(nodes, labellers, at(GRACE * 10));
    expect(none.findings).to.deep.equal([]);
    expect(none.notInstalled).to.include('AMD GPU operator device plugin');
    expect(none.counts).to.deep.equal({});
  });

  it('a pod not Ready for the grace is reported by name; a recreated pod (recent Ready transition or creation) is not yet', () => {
    const nodes = [node('gpu-0')];
    const stuck = { [AMD_DS]: [pod('amdgpu-dp-x', 'gpu-0', { ready: false, readySince: ago(600_000) })] };
    expect(run(nodes, stuck, NOW).findings, 'the first sight starts the clock').to.deep.equal([]);
    const r = run(nodes, stuck, at(GRACE + 1000));
    expect(reasons(r)).to.deep.equal(['Critical:DevicePluginMissing:gpu-0']);
    expect(r.findings[0]?.message).to.include('its device plugin pod kube-system/amdgpu-dp-x is not Ready');
    expect(r.counts).to.deep.equal({ devicePluginNodes: 1, devicePluginReady: 0 });
    // The pod restarted 30 s ago: its Ready transition is recent, so it gets the grace from then.
    const restarted = { [AMD_DS]: [pod('amdgpu-dp-x', 'gpu-0', { ready: false, readySince: ago(30_000, at(GRACE + 1000)) })] };
    const later = run(nodes, restarted, at(GRACE + 1000));
    expect(later.findings).to.deep.equal([]);
    expect(later.next).to.equal(Date.parse(ago(30_000, at(GRACE + 1000))) + GRACE);
    // A replacement pod without a Ready condition yet is judged from its creation.
    const fresh = { [AMD_DS]: [pod('amdgpu-dp-y', 'gpu-0', { noReady: true, created: ago(10_000, at(GRACE + 1000)) })] };
    const created = run(nodes, fresh, at(GRACE + 1000));
    expect(created.findings).to.deep.equal([]);
    expect(created.next).to.equal(Date.parse(ago(10_000, at(GRACE + 1000))) + GRACE);
  });

  it('a Ready pod forgets the absence: missing again starts a new grace', () => {
    const nodes = [node('gpu-0'), node('gpu-1')];
    const missing = { [AMD_DS]: [pod('dp-1', 'gpu-1')] };
    const present = { [AMD_DS]: [pod('dp-0', 'gpu-0'), pod('dp-1', 'gpu-1')] };
    run(nodes, missing, NOW);
    expect(run(nodes, present, at(60_000)).findings).to.deep.equal([]);
    expect(run(nodes, missing, at(200_000)).findings).to.deep.equal([]);
    expect(run(nodes, missing, at(200_000 + GRACE - 1000)).findings).to.deep.equal([]);
    const r = run(nodes, missing, at(200_000 + GRACE + 1000));
    expect(reasons(r)).to.deep.equal(['Critical:DevicePluginMissing:gpu-0']);
    expect(r.findings[0]?.since).to.equal(iso(200_000));
  });

  it('a node younger than the grace is not judged (a node recreated under the same name)', () => {
    const pods = { [AMD_DS]: [pod('dp-1', 'gpu-1')] };
    run([node('gpu-0'), node('gpu-1')], pods, NOW);
    const recreated = [node('gpu-0', {}, iso(9 * 60_000)), node('gpu-1')];
    const r = run(recreated, pods, at(10 * 60_000));
    expect(r.findings).to.deep.equal([]);
    expect(r.next).to.equal(at(11 * 60_000).getTime());
    const later = run(recreated, pods, at(11 * 60_000 + 1000));
    expect(reasons(later)).to.deep.equal(['Critical:DevicePluginMissing:gpu-0']);
    expect(later.findings[0]?.since).to.equal(iso(9 * 60_000));
  });

  it('terminating pods and pods not scheduled yet serve no node (but show the install exists)', () => {
    const nodes = [node('gpu-0')];
    const pods = { [AMD_DS]: [pod('dp-old', 'gpu-0', { deleting: true }), pod('dp-new', undefined, { ready: false, noReady: true })] };
    run(nodes, pods, NOW);
    const r = run(nodes, pods, at(GRACE + 1000));
    expect(reasons(r)).to.deep.equal(['Critical:DevicePluginMissing:gpu-0']);
    expect(r.findings[0]?.message).to.include('no device plugin pod runs there');
    const onlyTerminating = { [AMD_DS]: [pod('dp-old', 'gpu-0', { deleting: true })] };
    expect(run(nodes, onlyTerminating, at(GRACE * 10)).notInstalled).to.include('AMD device plugin DaemonSet');
  });

  it("a node with the vendor's label needs the agent even when its GPU resource is gone (dead device plugin); CPU nodes never", () => {
    const amdLabel = { 'feature.node.kubernetes.io/amd-gpu': 'true' };
    const nodes = [
      node('gpu-0'),
      node('gpu-2', { noResource: true, labels: amdLabel }),
      node('dgx-3', { noResource: true, labels: { 'nvidia.com/gpu.present': 'true' } }),
      cpuNode('cpu-1'),
    ];
    const pods = {
      [AMD_DS]: [pod('dp-0', 'gpu-0')],
      [NV_OPERATOR]: [pod('nv-dp-9', 'dgx-9', { namespace: 'gpu-operator' })],
      [NPD]: [pod('npd-cpu', 'cpu-1')],
    };
    run(nodes, pods, NOW);
    const r = run(nodes, pods, at(GRACE + 1000));
    expect(reasons(r)).to.deep.equal([
      'Critical:DevicePluginMissing:gpu-2',
      'Critical:DevicePluginMissing:dgx-3',
      'Warning:ProblemDetectorMissing:gpu-0',
    ]);
    // node-problem-detector is needed on nodes with GPU capacity only: gpu-0.
    expect(r.counts).to.deep.equal({ devicePluginNodes: 3, devicePluginReady: 1, problemDetectorNodes: 1, problemDetectorReady: 0 });
  });

  it('counts node-problem-detector findings on GPU nodes as Warnings after the grace', () => {
    const nodes = [node('gpu-0'), cpuNode('cpu-1')];
    const pods = { [AMD_DS]: [pod('dp-0', 'gpu-0')], [NPD]: [pod('npd-cpu', 'cpu-1')] };
    run(nodes, pods, NOW);
    expect(reasons(run(nodes, pods, at(GRACE + 1000)))).to.deep.equal(['Warning:ProblemDetectorMissing:gpu-0']);
  });

  it('does nothing when disabled', () => {
    const spec = { ...AGENTS, enabled: false };
    const r = run([node('gpu-0')], {}, at(GRACE * 10), { spec });
    expect(r).to.deep.include({ findings: [], counts: {}, notInstalled: [] });
    expect(agentSources(spec)).to.deep.equal({});
  });

  it('agentSources: one optional, slimmed pods source per install, by its namespace and selector', () => {
    const sources = agentSources(AGENTS);
    expect(Object.keys(sources)).to.deep.equal(DEFAULT_AGENTS.map((_, i) => `agent${i}`));
    expect(sources[`agent${AMD_OPERATOR}`]).to.deep.include({
      apiVersion: 'v1',
      plural: 'pods',
      kind: 'Pod',
      namespace: 'kube-amd-gpu',
      labelSelector: 'daemonset-name',
      optional: true,
      transform: slimAgentPod,
    });
    expect(sources[`agent${AMD_DS}`]).to.deep.include({ namespace: 'kube-system', labelSelector: 'name in (amdgpu-dp-ds)' });
    expect(sources[`agent${NV_OPERATOR}`]).to.not.have.property('namespace');
    expect(sources[`agent${NV_OPERATOR}`]?.labelSelector).to.equal('app=nvidia-device-plugin-daemonset');
  });

  it('slimAgentPod keeps identity, node, phase, Ready and owner DaemonSets only; hostile shapes do not throw', () => {
    const slim = slimAgentPod({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'p',
        namespace: 'ns',
        resourceVersion: '9',
        creationTimestamp: '2026-01-01T00:00:00Z',
        labels: { a: 'b' },
        annotations: { c: 'd' },
        managedFields: [{}],
        ownerReferences: [
          { kind: 'ReplicaSet', name: 'rs' },
          'junk',
          ...Array.from({ length: 6 }, (_, i) => ({ kind: 'DaemonSet', name: `${'d'.repeat(300)}${i}`, uid: 'u' })),
        ],
      },
      spec: { nodeName: 'gpu-0', containers: [{ name: 'c' }], volumes: [] },
      status: {
        phase: 'Running',
        podIP: '10.0.0.1',
        conditions: [
          { type: 'Initialized', status: 'True' },
          { type: 'Ready', status: 'True', lastTransitionTime: '2026-01-01T00:01:00Z', reason: 'x' },
        ],
        containerStatuses: [{ restartCount: 3 }],
      },
    });
    expect(slim.metadata).to.deep.equal({
      name: 'p',
      namespace: 'ns',
      resourceVersion: '9',
      creationTimestamp: '2026-01-01T00:00:00Z',
      ownerReferences: Array.from({ length: 4 }, (_, i) => ({ kind: 'DaemonSet', name: `${'d'.repeat(300)}${i}`.slice(0, 253) })),
    });
    expect(slim.spec).to.deep.equal({ nodeName: 'gpu-0' });
    expect(slim.status).to.deep.equal({
      phase: 'Running',
      conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2026-01-01T00:01:00Z' }],
    });
    const hostile = slimAgentPod({
      metadata: { name: 'h', ownerReferences: 'x' as unknown as unknown[] },
      spec: 'nope',
      status: { conditions: 'no', phase: 7 },
    });
    expect(hostile).to.deep.equal({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'h' }, spec: {}, status: {} });
  });
});

describe('absence clock', () => {
  beforeEach(resetAbsences);
  after(resetAbsences);

  it('starts at the first ask while absent and forgets on presence', () => {
    expect(absentSince('k', true, 1000)).to.equal(1000);
    expect(absentSince('k', true, 5000)).to.equal(1000);
    expect(absentSince('k', false, 6000)).to.equal(undefined);
    expect(absentSince('k', true, 7000)).to.equal(7000);
  });

  it('keeps an absence asked about once per resync period (up to the 1 h maximum interval) across sweeps', () => {
    const t0 = 1_000_000;
    expect(absentSince('node-a', true, t0)).to.equal(t0);
    // A quiet cluster re-evaluates a monitor only at its resync (10 min, or its interval up to 1 h), and other
    // monitors' evaluations run the sweep meanwhile.
    let t = t0;
    for (const gap of [10 * 60_000 + 10, 60 * 60_000 + 10]) {
      t += gap;
      for (let i = 0; i < 1500; i++) absentSince(`other-${gap}-${i}`, true, t);
      expect(absentSince('node-a', true, t), `asked again after ${gap} ms`).to.equal(t0);
    }
  });

  it('forgets absences nobody asked about for hours (bounded memory)', () => {
    const t0 = 1_000_000;
    absentSince('gone', true, t0);
    const later = t0 + 3 * 3_600_000;
    for (let i = 0; i < 1000; i++) absentSince(`other-${i}`, true, later);
    expect(absentSince('gone', true, later + 1)).to.equal(later + 1);
  });
});
