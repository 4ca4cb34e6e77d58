import { expect } from 'chai';
import { Registry } from 'prom-client';
import { CAPACITY_METRIC } from '../../src/checks/capacity.js';
import { checkGauges } from '../../src/checks/registry.js';
import { MonitorMetrics } from '../../src/controller/metrics.js';

const at = new Date('2026-01-01T00:00:00Z');
const row = (cq: string, kind: string, value: number) => ({
  labels: { cluster_queue: cq, flavor: 'mi300x', resource: 'amd.com/gpu', kind },
  value,
});
const lines = async (r: Registry) => (await r.metrics()).split('\n').filter((l) => l.startsWith(`${CAPACITY_METRIC}{`));

describe('gauges declared by checks (kaiwo_monitor_capacity_gpus)', () => {
  it('are registered from the registry and set per monitor with the check labels', async () => {
    expect(checkGauges()[CAPACITY_METRIC]?.labelNames).to.deep.equal(['cluster_queue', 'flavor', 'resource', 'kind']);
    const registry = new Registry();
    const m = new MonitorMetrics(registry);
    m.observe({
      monitor: 'a',
      conditions: [],
      findings: [],
      at,
      components: ['capacity'],
      gauges: { [CAPACITY_METRIC]: [row('team', 'lost', 8), row('team', 'healthy', 8)] },
    });
    expect(await lines(registry)).to.deep.equal([
      'kaiwo_monitor_capacity_gpus{cluster_queue="team",flavor="mi300x",resource="amd.com/gpu",kind="lost",monitor="a"} 8',
      'kaiwo_monitor_capacity_gpus{cluster_queue="team",flavor="mi300x",resource="amd.com/gpu",kind="healthy",monitor="a"} 8',
    ]);
  });

  it('removes a series the next evaluation does not set (a queue gone, the check disabled) and all of a deleted monitor', async () => {
    const registry = new Registry();
    const m = new MonitorMetrics(registry);
    m.observe({
      monitor: 'a',
      conditions: [],
      findings: [],
      at,
      components: ['capacity'],
      gauges: { [CAPACITY_METRIC]: [row('team', 'lost', 8), row('gone', 'lost', 1)] },
    });
    m.observe({
      monitor: 'b',
      conditions: [],
      findings: [],
      at,
      components: ['capacity'],
      gauges: { [CAPACITY_METRIC]: [row('team', 'lost', 2)] },
    });
    m.observe({
      monitor: 'a',
      conditions: [],
      findings: [],
      at,
      components: ['capacity'],
      gauges: { [CAPACITY_METRIC]: [row('team', 'lost', 0)] },
    });
    expect(await lines(registry)).to.deep.equal([
      'kaiwo_monitor_capacity_gpus{cluster_queue="team",flavor="mi300x",resource="amd.com/gpu",kind="lost",monitor="a"} 0',
      'kaiwo_monitor_capacity_gpus{cluster_queue="team",flavor="mi300x",resource="amd.com/gpu",kind="lost",monitor="b"} 2',
    ]);
    m.observe({ monitor: 'a', conditions: [], findings: [], at, components: [] });
    m.forget('b');
    expect(await lines(registry)).to.deep.equal([]);
  });
});
