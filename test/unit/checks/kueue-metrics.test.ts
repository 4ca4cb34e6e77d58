import { expect } from 'chai';
import { applyDefaults } from '../../../src/api/defaults.js';
import { kueueCheck } from '../../../src/checks/kueue.js';
import { kueueMetrics, queueMetricsNote } from '../../../src/checks/kueue-metrics.js';
import { type KaiwoMonitorSpec, specSchema } from '../../../src/checks/registry.js';
import type { ScrapeView } from '../../../src/checks/types.js';
import type { Sample } from '../../../src/sources/promtext.js';
import { clusterQueue, deployment, lease, NOW, view } from '../../support/fixtures.js';

const T0 = NOW.getTime() - 10 * 60_000;
const evicted = (reason: string, value: number, extra: Record<string, string> = {}): Sample => ({
  name: 'kueue_evicted_workloads_total',
  labels: { cluster_queue: 'kaiwo', reason, underlying_cause: '', priority_class: '', ...extra },
  value,
});
const gauge = (name: string, labels: Record<string, string>, value: number): Sample => ({
  name,
  labels: { cluster_queue: 'kaiwo', ...labels },
  value,
});
const history = (...scrapes: Sample[][]): ScrapeView => ({
  state: 'ok',
  history: scrapes.map((samples, i) => ({ at: T0 + i * 60_000, samples })),
});

describe("Kueue's own metrics (where the Kueue check scrapes Kueue)", () => {
  it('reads the latest gauges per ClusterQueue: pending by status, pending requests by resource, its status; followers and garbage ignored', () => {
    const km = kueueMetrics(
      history([
        gauge('kueue_pending_workloads', { status: 'active', replica_role: 'leader' }, 2),
        gauge('kueue_pending_workloads', { status: 'inadmissible', replica_role: 'leader' }, 3),
        gauge('kueue_pending_workloads', { status: 'inadmissible', replica_role: 'follower' }, 99),
        gauge('kueue_pending_workloads', { status: 'inadmissible' }, Number.NaN),
        gauge('kueue_pending_workloads', { status: 'inadmissible' }, -4),
        gauge('kueue_cluster_queue_resource_pending', { resource: 'amd.com/gpu', replica_role: 'standalone' }, 16),
        gauge('kueue_cluster_queue_status', { status: 'pending' }, 0),
        gauge('kueue_cluster_queue_status', { status: 'active' }, 1),
        { name: 'kueue_pending_workloads', labels: { status: 'inadmissible' }, value: 7 },
      ]),
      15 * 60_000,
    );
    const q = km.queues.get('kaiwo');
    expect(q).to.deep.include({ active: 2, inadmissible: 3, status: 'active' });
    expect([...(q?.pendingResources ?? [])]).to.deep.equal([['amd.com/gpu', 16]]);
    expect(km.queues.size, 'a sample without cluster_queue is no queue').to.equal(1);
    expect(queueMetricsNote(q)).to.equal("; Kueue's metrics: 3 inadmissible (parked until the cluster changes), requesting 16 amd.com/gpu");
    expect(queueMetricsNote(undefined)).to.equal('');
  });

  it('counts evictions by reason over the history the window covers, across resets, without a follower', () => {
    const km = kueueMetrics(
      history(
        [evicted('Preempted', 4), evicted('PodsReadyTimeout', 1)],
        [evicted('Preempted', 6), evicted('PodsReadyTimeout', 1), evicted('Preempted', 50, { replica_role: 'follower' })],
        [evicted('Preempted', 1), evicted('PodsReadyTimeout', 2), evicted('Preempted', 60, { replica_role: 'follower' })],
      ),
      15 * 60_000,
    );
    expect([...km.evictions]).to.deep.equal([
      ['Preempted', 3],
      ['PodsReadyTimeout', 1],
    ]);
    expect([km.evictionTotal, km.spanMs]).to.deep.equal([4, 120_000]);
  });

  it("FrequentEvictions from Kueue's counter when it saw more than the Workloads' conditions still show; counts", () => {
    const spec = applyDefaults<KaiwoMonitorSpec>(specSchema, {
      kueue: { maxEvictions: 2, metrics: { enabled: true, url: 'https://k/metrics' } },
    }).kueue;
    const data = {
      deployments: view([deployment('kueue-system', 'kueue-controller-manager')]),
      pods: view([]),
      clusterQueues: view([clusterQueue('kaiwo')]),
      leases: view([lease('kueue-system', 'c1f6bfd2.kueue.x-k8s.io', 1000)]),
      localQueues: view([]),
      workloads: view([]),
    };
    const run = (m: ScrapeView) => kueueCheck.evaluate({ spec, data, scrapes: { metrics: m }, now: NOW, env: {} });
    const churn = run(
      history(
        [evicted('ClusterQueueStopped', 0), gauge('kueue_pending_workloads', { status: 'inadmissible' }, 1)],
        [evicted('ClusterQueueStopped', 3), evicted('Preempted', 1), gauge('kueue_cluster_queue_status', { status: 'pending' }, 1)],
      ),
    );
    const f = churn.findings.find((x) => x.reason === 'FrequentEvictions');
    expect(f?.message).to.equal(
      "3 Workloads evicted in the last 15m (threshold 2): ClusterQueueStopped 3 (Kueue's kueue_evicted_workloads_total over the last 60s, Workloads admitted again included)",
    );
    expect(churn.summary?.counts).to.include({ evictions: 3, inadmissibleWorkloads: 0, clusterQueuesInactiveByKueue: 1 });
    const calm = run(history([evicted('Preempted', 0)], [evicted('Preempted', 2)]));
    expect(calm.findings.map((x) => x.reason)).to.not.include('FrequentEvictions');
    expect(calm.summary?.counts).to.include({ evictions: 2 });
  });
});
