import { expect } from 'chai';
import { Counter, Registry } from 'prom-client';
import type { Condition } from '../../src/api/types.js';
import { MonitorMetrics } from '../../src/controller/metrics.js';

const at = new Date('2026-01-01T00:00:00Z');
const cond = (type: string, status: Condition['status']): Condition => ({
  type,
  status,
  reason: 'R',
  message: 'm',
  lastTransitionTime: '2026-01-01T00:00:00Z',
  observedGeneration: 1,
});
const all = [cond('Ready', 'True'), cond('Healthy', 'False'), cond('KaiwoOperatorHealthy', 'True'), cond('KueueHealthy', 'False')];

/** Exported sample lines (no HELP/TYPE) that mention `monitor="<name>"`. */
async function seriesOf(registry: Registry, name: string): Promise<string[]> {
  return (await registry.metrics()).split('\n').filter((l) => !l.startsWith('#') && l.includes(`monitor="${name}"`));
}

describe('KaiwoMonitor metrics', () => {
  let registry: Registry;
  let m: MonitorMetrics;
  beforeEach(() => {
    registry = new Registry();
    m = new MonitorMetrics(registry);
  });

  it('exports conditions, findings of enabled components, summary and last check per monitor', async () => {
    m.observe({
      monitor: 'a',
      conditions: all,
      findings: [{ component: 'kueue', severity: 'Critical' }],
      at,
      summary: { kueue: { display: 'x', counts: { clusterQueues: 2 } } },
      components: ['operator', 'kueue'],
    });
    const s = await seriesOf(registry, 'a');
    expect(s).to.include('kaiwo_monitor_condition{monitor="a",type="KueueHealthy",status="False"} 1');
    expect(s).to.include('kaiwo_monitor_findings{monitor="a",component="kueue",severity="Critical"} 1');
    expect(s).to.include('kaiwo_monitor_summary{monitor="a",component="kueue",count="clusterQueues"} 2');
    expect(
      s.filter((l) => l.includes('component="gpuNodes"')),
      'no series for a component that has no condition',
    ).to.deep.equal([]);
    // 4 conditions × 3 statuses + 2 components × 3 severities + 1 summary + 1 last check
    expect(s).to.have.length(12 + 6 + 1 + 1);
  });

  it('removes the series of a component that is no longer evaluated (disabled), by their exact labels', async () => {
    for (const c of ['operator', 'kueue']) m.countRun('a', c);
    m.observe({
      monitor: 'a',
      conditions: all,
      findings: [{ component: 'kueue', severity: 'Critical' }],
      at,
      summary: { kueue: { display: 'x', counts: { clusterQueues: 2 } } },
      components: ['operator', 'kueue'],
    });
    expect(await seriesOf(registry, 'a')).to.include('kaiwo_monitor_check_runs_total{monitor="a",component="kueue"} 1');
    m.observe({ monitor: 'b', conditions: all, findings: [], at, components: ['operator', 'kueue'] });
    m.observe({ monitor: 'a', conditions: all.filter((c) => c.type !== 'KueueHealthy'), findings: [], at, components: ['operator'] });
    const s = await seriesOf(registry, 'a');
    expect(s.filter((l) => l.includes('KueueHealthy') || l.includes('kueue'))).to.deep.equal([]);
    expect(s).to.include('kaiwo_monitor_condition{monitor="a",type="KaiwoOperatorHealthy",status="True"} 1');
    expect(s).to.include('kaiwo_monitor_check_runs_total{monitor="a",component="operator"} 1');
    expect(await seriesOf(registry, 'b'), 'other monitors keep theirs').to.include(
      'kaiwo_monitor_condition{monitor="b",type="KueueHealthy",status="False"} 1',
    );
  });

  it('removes every series of a forgotten monitor, status patch counter included, and keeps the others', async () => {
    const patches = new Counter({ name: 'kaiwo_monitor_status_patches_total', help: 'h', labelNames: ['monitor'], registers: [registry] });
    patches.inc({ monitor: 'a' });
    patches.inc({ monitor: 'b' });
    m.observe({
      monitor: 'a',
      conditions: all,
      findings: [{ component: 'operator', severity: 'Warning' }],
      at,
      summary: { operator: { display: 'x', counts: { availableReplicas: 1 } } },
      components: ['operator', 'kueue'],
    });
    m.observe({ monitor: 'b', conditions: all, findings: [], at, components: ['operator', 'kueue'] });
    expect(await seriesOf(registry, 'a')).to.have.length(21);
    m.countRun('a', 'operator');
    m.forget('a');
    expect(await seriesOf(registry, 'a')).to.deep.equal([]);
    expect(await seriesOf(registry, 'b')).to.have.length(12 + 6 + 1 + 1);
    m.forget('never-seen');
  });

  it('without a component list, reports findings for the components that have findings or a summary', async () => {
    m.observe({
      monitor: 'a',
      conditions: all,
      findings: [{ component: 'workloads', severity: 'Warning' }],
      at,
      summary: { gpuNodes: { display: 'x', counts: { ready: 1 } } },
    });
    const components = new Set(
      (await seriesOf(registry, 'a')).filter((l) => l.startsWith('kaiwo_monitor_findings')).map((l) => /component="(\w+)"/.exec(l)?.[1]),
    );
    expect([...components].sort()).to.deep.equal(['gpuNodes', 'workloads']);
  });
});
