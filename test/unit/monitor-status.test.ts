import { expect } from 'chai';
import type { Component, Finding, KaiwoMonitorStatus } from '../../src/api/types.js';
import { CHECKS } from '../../src/checks/registry.js';
import type { CheckResult } from '../../src/checks/types.js';
import { buildStatus, type ComponentOutcome, initialStatus, newCriticalFindings, transitions } from '../../src/controller/status.js';

const t0 = new Date('2026-01-01T00:00:00Z');
const t1 = new Date('2026-01-01T00:01:00Z');
const hour = 3_600_000;
const ok = (message = 'fine'): CheckResult => ({ status: 'True', reason: 'Healthy', message, findings: [] });
const all = (r: (c: Component) => CheckResult | undefined, enabled: Component[] = ['operator', 'kueue', 'gpuNodes', 'workloads']): ComponentOutcome[] =>
  infos(['operator', 'kueue', 'gpuNodes', 'workloads']).map((info) => {
    const result = r(info.component);
    return enabled.includes(info.component) ? { ...info, enabled: true, ...(result ? { result } : { error: 'boom' }) } : { ...info, enabled: false };
  });
/** The registered checks' status facts, by component name. */
function infos(components: Component[]) {
  return components.map((c) => {
    const check = CHECKS.find((x) => x.component === c);
    if (!check) throw new Error(`no check ${c}`);
    return { component: c, conditionType: check.conditionType, label: check.label };
  });
}
const cond = (s: KaiwoMonitorStatus, type: string) => s.conditions?.find((c) => c.type === type);

describe('KaiwoMonitor status', () => {
  it('starts with every condition Unknown and the generation observed', () => {
    const s = initialStatus(3, infos(['kueue', 'gpuNodes']), t0);
    expect(s.conditions?.map((c) => [c.type, c.status, c.observedGeneration])).to.deep.equal([
      ['Ready', 'Unknown', 3], ['Healthy', 'Unknown', 3], ['KueueHealthy', 'Unknown', 3], ['GPUNodesHealthy', 'Unknown', 3],
    ]);
    expect(s.observedGeneration).to.equal(3);
  });

  it('is Healthy only when every enabled component is healthy; disabled ones are removed', () => {
    const prev = initialStatus(1, infos(['operator', 'kueue', 'gpuNodes', 'workloads']), t0);
    const s = buildStatus({ generation: 1, previous: prev, outcomes: all(() => ok(), ['kueue', 'gpuNodes']), now: t1, heartbeatMs: hour });
    expect(cond(s, 'Healthy')).to.include({ status: 'True', reason: 'AllComponentsHealthy' });
    expect(cond(s, 'Ready')).to.include({ status: 'True', reason: 'Reconciled' });
    expect(cond(s, 'KaiwoOperatorHealthy')).to.equal(undefined);
    expect(cond(s, 'WorkloadsHealthy')).to.equal(undefined);
  });

  it('reports a failing check as Ready=False/CheckFailed and its component Unknown, never Healthy', () => {
    const s = buildStatus({ generation: 2, previous: undefined, outcomes: all((c) => (c === 'kueue' ? undefined : ok())), now: t1, heartbeatMs: hour });
    expect(cond(s, 'Ready')).to.include({ status: 'False', reason: 'CheckFailed' });
    expect(cond(s, 'KueueHealthy')).to.include({ status: 'Unknown', reason: 'CheckFailed' });
    expect(cond(s, 'Healthy')?.status).to.equal('Unknown');
  });

  it('is Unhealthy when any component is False, naming it', () => {
    const bad: CheckResult = { status: 'False', reason: 'NodesNotReady', message: '3 of 32 GPU nodes NotReady: gpu-07, gpu-12, gpu-19', findings: [] };
    const s = buildStatus({ generation: 1, previous: undefined, outcomes: all((c) => (c === 'gpuNodes' ? bad : ok())), now: t1, heartbeatMs: hour });
    expect(cond(s, 'Healthy')).to.include({ status: 'False', reason: 'ComponentsUnhealthy' });
    expect(cond(s, 'Healthy')?.message).to.include('GPU nodes: 3 of 32 GPU nodes NotReady');
  });

  it('keeps component conditions and marks Ready=False/InvalidSpec for an unusable spec', () => {
    const prev = buildStatus({ generation: 1, previous: undefined, outcomes: all(() => ok()), now: t0, heartbeatMs: hour });
    const s = buildStatus({ generation: 2, previous: prev, outcomes: [], invalidSpec: 'spec.kueue.podSelector: bad', now: t1, heartbeatMs: hour });
    expect(cond(s, 'Ready')).to.include({ status: 'False', reason: 'InvalidSpec', message: 'spec.kueue.podSelector: bad', observedGeneration: 2 });
    expect(cond(s, 'KueueHealthy')).to.include({ status: 'True', observedGeneration: 1 });
  });

  it('keeps at most 50 findings, most severe first, with totals, even for 10,000', () => {
    const many: Omit<Finding, 'component'>[] = [];
    for (let i = 0; i < 10_000; i++) many.push({ severity: i % 100 === 0 ? 'Critical' : 'Warning', reason: 'NodeNotReady', message: `node gpu-${i}`, object: { kind: 'Node', name: `gpu-${i}` } });
    const r: CheckResult = { status: 'False', reason: 'NodesNotReady', message: 'm', findings: many };
    const s = buildStatus({ generation: 1, previous: undefined, outcomes: all((c) => (c === 'gpuNodes' ? r : ok())), now: t0, heartbeatMs: hour });
    expect(s.findings).to.have.length(50);
    expect(s.findings?.slice(0, 100).filter((f) => f.severity === 'Critical')).to.have.length(50);
    expect(s.findingCounts).to.deep.equal({ total: 10_000, critical: 100, warning: 9_900, info: 0 });
    expect(JSON.stringify(s).length).to.be.below(20_000);
  });

  it('carries `since` of a finding forward and does not rewrite an unchanged status', () => {
    const r: CheckResult = { status: 'False', reason: 'X', message: 'm', findings: [{ severity: 'Critical', reason: 'Lost', message: 'gone', object: { kind: 'Node', name: 'a' } }] };
    const first = buildStatus({ generation: 1, previous: undefined, outcomes: all(() => r), now: t0, heartbeatMs: hour });
    const second = buildStatus({ generation: 1, previous: first, outcomes: all(() => r), now: t1, heartbeatMs: hour });
    expect(second).to.deep.equal(first);
    expect(second.findings?.[0]?.since).to.equal('2026-01-01T00:00:00Z');
  });

  it('refreshes lastCheckTime after the heartbeat even when nothing changed', () => {
    const first = buildStatus({ generation: 1, previous: undefined, outcomes: all(() => ok()), now: t0, heartbeatMs: 30_000 });
    const later = buildStatus({ generation: 1, previous: first, outcomes: all(() => ok()), now: t1, heartbeatMs: 30_000 });
    expect(later.lastCheckTime).to.equal('2026-01-01T00:01:00Z');
    expect(later.conditions).to.deep.equal(first.conditions);
  });

  it('reports transitions and new critical findings for Events', () => {
    const prev = initialStatus(1, infos(['kueue']), t0);
    const bad: CheckResult = { status: 'False', reason: 'ClusterQueueInactive', message: 'm', findings: [{ severity: 'Critical', reason: 'ClusterQueueInactive', message: 'cq', object: { kind: 'ClusterQueue', name: 'kaiwo' } }] };
    const s = buildStatus({ generation: 1, previous: prev, outcomes: all(() => bad, ['kueue']), now: t1, heartbeatMs: hour });
    expect(transitions(prev, s).map((t) => `${t.condition.type}=${t.condition.status}`)).to.deep.equal(['Ready=True', 'Healthy=False', 'KueueHealthy=False']);
    expect(newCriticalFindings(prev, s)).to.have.length(1);
    expect(newCriticalFindings(s, s)).to.have.length(0);
    expect(transitions(s, s)).to.deep.equal([]);
  });
});
