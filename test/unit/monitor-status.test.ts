import { expect } from 'chai';
import type { Component, Finding, KaiwoMonitorStatus } from '../../src/api/types.js';
import { CHECKS } from '../../src/checks/registry.js';
import type { CheckResult } from '../../src/checks/types.js';
import {
  buildStatus,
  type ComponentOutcome,
  initialStatus,
  newCriticalFindings,
  notableTransitions,
  transitions,
} from '../../src/controller/status.js';

const t0 = new Date('2026-01-01T00:00:00Z');
const t1 = new Date('2026-01-01T00:01:00Z');
const hour = 3_600_000;
const ok = (message = 'fine'): CheckResult => ({ status: 'True', reason: 'Healthy', message, findings: [] });
const all = (
  r: (c: Component) => CheckResult | undefined,
  enabled: Component[] = ['operator', 'kueue', 'gpuNodes', 'workloads'],
): ComponentOutcome[] =>
  infos(['operator', 'kueue', 'gpuNodes', 'workloads']).map((info) => {
    const result = r(info.component);
    return enabled.includes(info.component)
      ? { ...info, enabled: true, ...(result ? { result } : { error: 'boom' }) }
      : { ...info, enabled: false };
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
    expect(s.conditions?.map((c) => [c.type, c.status, c.reason, c.observedGeneration])).to.deep.equal([
      ['Ready', 'Unknown', 'Observing', 3],
      ['Healthy', 'Unknown', 'NotObserved', 3],
      ['Reconciling', 'True', 'Observing', 3],
      ['KueueHealthy', 'Unknown', 'NotObserved', 3],
      ['GPUNodesHealthy', 'Unknown', 'NotObserved', 3],
    ]);
    expect(s.observedGeneration).to.equal(3);
    expect(s.summary).to.deep.equal({ kueue: { display: 'Unknown' }, gpuNodes: { display: 'Unknown' } });
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
    const s = buildStatus({
      generation: 2,
      previous: undefined,
      outcomes: all((c) => (c === 'kueue' ? undefined : ok())),
      now: t1,
      heartbeatMs: hour,
    });
    expect(cond(s, 'Ready')).to.include({ status: 'False', reason: 'CheckFailed' });
    expect(cond(s, 'KueueHealthy')).to.include({ status: 'Unknown', reason: 'CheckFailed' });
    expect(cond(s, 'Healthy')?.status).to.equal('Unknown');
  });

  it('is Unhealthy when any component is False, naming it', () => {
    const bad: CheckResult = {
      status: 'False',
      reason: 'NodesNotReady',
      message: '3 of 32 GPU nodes NotReady: gpu-07, gpu-12, gpu-19',
      findings: [],
    };
    const s = buildStatus({
      generation: 1,
      previous: undefined,
      outcomes: all((c) => (c === 'gpuNodes' ? bad : ok())),
      now: t1,
      heartbeatMs: hour,
    });
    expect(cond(s, 'Healthy')).to.include({ status: 'False', reason: 'ComponentsUnhealthy' });
    expect(cond(s, 'Healthy')?.message).to.include('GPU nodes: 3 of 32 GPU nodes NotReady');
  });

  it('keeps component conditions and marks Ready=False/InvalidSpec for an unusable spec', () => {
    const prev = buildStatus({ generation: 1, previous: undefined, outcomes: all(() => ok()), now: t0, heartbeatMs: hour });
    const s = buildStatus({
      generation: 2,
      previous: prev,
      outcomes: [],
      invalidSpec: 'spec.kueue.podSelector: bad',
      now: t1,
      heartbeatMs: hour,
    });
    expect(cond(s, 'Ready')).to.include({
      status: 'False',
      reason: 'InvalidSpec',
      message: 'spec.kueue.podSelector: bad',
      observedGeneration: 2,
    });
    expect(cond(s, 'Stalled'), 'kstatus reads Stalled=True as Failed').to.include({ status: 'True', reason: 'InvalidSpec' });
    expect(cond(s, 'KueueHealthy')).to.include({ status: 'True', observedGeneration: 1 });
    const fixed = buildStatus({ generation: 3, previous: s, outcomes: all(() => ok()), now: t1, heartbeatMs: hour });
    expect(cond(fixed, 'Stalled')).to.equal(undefined);
    expect(cond(fixed, 'Ready')).to.include({ status: 'True' });
  });

  it('says Observing (Ready=Unknown, Reconciling=True) until every enabled component was evaluated from answered sources', () => {
    const prev = initialStatus(1, infos(['kueue', 'gpuNodes']), t0);
    const waiting = all(() => ok(), ['kueue', 'gpuNodes']).map((o) => (o.component === 'gpuNodes' ? { ...o, pending: ['nodes'] } : o));
    const s = buildStatus({ generation: 1, previous: prev, outcomes: waiting, now: t1, heartbeatMs: hour });
    expect(cond(s, 'Ready')).to.include({ status: 'Unknown', reason: 'Observing' });
    expect(cond(s, 'Ready')?.message).to.contain('GPU nodes (waiting for nodes)');
    expect(cond(s, 'Reconciling')).to.include({ status: 'True', reason: 'Observing' });
    expect(cond(s, 'GPUNodesHealthy')).to.include({ status: 'Unknown', reason: 'NotObserved' });
    expect(cond(s, 'KueueHealthy')).to.include({ status: 'True' });
    expect(cond(s, 'Healthy')?.status).to.equal('Unknown');
    const done = buildStatus({ generation: 1, previous: s, outcomes: all(() => ok(), ['kueue', 'gpuNodes']), now: t1, heartbeatMs: hour });
    expect(cond(done, 'Ready')).to.include({ status: 'True', reason: 'Reconciled' });
    expect(cond(done, 'Reconciling')).to.equal(undefined);
  });

  it('keeps what it observed when sources are pending again (restart, failover): no flap, no transition', () => {
    const bad: CheckResult = {
      ...ok(),
      status: 'False',
      reason: 'GPUsUnavailable',
      summary: { display: '1/4 ready', counts: { ready: 1 } },
      findings: [{ severity: 'Critical', reason: 'GPUsUnavailable', message: 'lost' }],
    };
    const first = buildStatus({
      generation: 1,
      previous: undefined,
      outcomes: all((c) => (c === 'gpuNodes' ? bad : ok())),
      now: t0,
      heartbeatMs: hour,
    });
    // A new leader: every source is still listing, so each check answers NotObserved.
    const notObserved: CheckResult = { status: 'Unknown', reason: 'NotObserved', message: 'waiting', findings: [] };
    const pending = all(() => notObserved).map((o) => ({ ...o, pending: ['x'] }));
    const again = buildStatus({ generation: 1, previous: first, outcomes: pending, now: t1, heartbeatMs: hour });
    expect(again.conditions).to.deep.equal(first.conditions);
    expect(again.findings).to.deep.equal(first.findings);
    expect(again.summary).to.deep.equal(first.summary);
    expect(transitions(first, again)).to.deep.equal([]);
    expect(cond(first, 'GPUNodesHealthy')).to.include({ status: 'False' });
    expect(first.summary?.gpuNodes?.display, 'column text: status and summary').to.equal('False 1/4 ready');
  });

  it('keeps at most 50 findings, most severe first, with totals, even for 10,000', () => {
    const many: Omit<Finding, 'component'>[] = [];
    for (let i = 0; i < 10_000; i++)
      many.push({
        severity: i % 100 === 0 ? 'Critical' : 'Warning',
        reason: 'NodeNotReady',
        message: `node gpu-${i}`,
        object: { kind: 'Node', name: `gpu-${i}` },
      });
    const r: CheckResult = { status: 'False', reason: 'NodesNotReady', message: 'm', findings: many };
    const s = buildStatus({
      generation: 1,
      previous: undefined,
      outcomes: all((c) => (c === 'gpuNodes' ? r : ok())),
      now: t0,
      heartbeatMs: hour,
    });
    expect(s.findings).to.have.length(50);
    expect(s.findings?.slice(0, 100).filter((f) => f.severity === 'Critical')).to.have.length(50);
    expect(s.findingCounts).to.deep.equal({ total: 10_000, critical: 100, warning: 9_900, info: 0 });
    expect(JSON.stringify(s).length).to.be.below(20_000);
  });

  it('carries `since` of a finding forward and does not rewrite an unchanged status', () => {
    const r: CheckResult = {
      status: 'False',
      reason: 'X',
      message: 'm',
      findings: [{ severity: 'Critical', reason: 'Lost', message: 'gone', object: { kind: 'Node', name: 'a' } }],
    };
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
    const bad: CheckResult = {
      status: 'False',
      reason: 'ClusterQueueInactive',
      message: 'm',
      findings: [{ severity: 'Critical', reason: 'ClusterQueueInactive', message: 'cq', object: { kind: 'ClusterQueue', name: 'kaiwo' } }],
    };
    const s = buildStatus({ generation: 1, previous: prev, outcomes: all(() => bad, ['kueue']), now: t1, heartbeatMs: hour });
    expect(transitions(prev, s).map((t) => `${t.condition.type}=${t.condition.status}`)).to.deep.equal(
      ['Ready=True', 'Healthy=False', 'Reconciling=None', 'KueueHealthy=False'].filter((x) => !x.endsWith('None')),
    );
    // One Event per real change: the component's, not Ready's or the derived Healthy's.
    expect(notableTransitions(prev, s).map((t) => t.condition.type)).to.deep.equal(['KueueHealthy']);
    const healed = buildStatus({ generation: 1, previous: s, outcomes: all(() => ok(), ['kueue']), now: t1, heartbeatMs: hour });
    expect(notableTransitions(s, healed).map((t) => `${t.condition.type}=${t.condition.status}`)).to.deep.equal(['KueueHealthy=True']);
    // A first observation that finds everything fine is not news.
    const fine = buildStatus({ generation: 1, previous: prev, outcomes: all(() => ok(), ['kueue']), now: t1, heartbeatMs: hour });
    expect(notableTransitions(prev, fine)).to.deep.equal([]);
    expect(newCriticalFindings(prev, s)).to.have.length(1);
    expect(newCriticalFindings(s, s)).to.have.length(0);
    expect(transitions(s, s)).to.deep.equal([]);
  });
});
