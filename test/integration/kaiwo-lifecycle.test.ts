import { expect } from 'chai';
import type { KubeConfig } from '@kubernetes/client-node';
import { Monitors } from '../support/fakes/monitors.js';
import { MonitorRecorder } from '../support/fakes/scenarios.js';
import { SimulatedStack } from '../support/fakes/simulate.js';
import { rawJson } from '../../src/runtime/rawrequest.js';
import { sharedCluster, skipWithoutBackend, uniqueName } from '../support/cluster.js';
import { type LogLine, OperatorProcess } from '../support/operator.js';
import { waitFor } from '../support/wait.js';

interface CoreEvent {
  reason: string;
  type: string;
  message: string;
  metadata: { name: string; creationTimestamp: string };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const HOUR = 3_600_000;

/**
 * Kaiwo's real workload lifecycle and restart rhythm on a simulated stack that writes statuses the way Kaiwo
 * v0.1.9 does (startTime/duration per transition, no completionTime, ERROR = Schedulable=False) and restarts its
 * controllers the way controller-runtime does (no Lease release: the new pod waits the Lease out), with the
 * operator's logs read as they are written.
 */
describe('integration: Kaiwo workload lifecycle, controller rolling restarts and transition logs', function () {
  this.timeout(180_000);
  before(skipWithoutBackend);
  let kc: KubeConfig;
  let sim: SimulatedStack;
  let op: OperatorProcess;
  let recorder: MonitorRecorder;
  let monitors: Monitors;
  const monitor = 'lifecycle';

  const eventsSince = async (since: number) => {
    const list = await rawJson<{ items: CoreEvent[] }>(kc, {
      method: 'GET',
      path: `/api/v1/namespaces/default/events?fieldSelector=${encodeURIComponent(`involvedObject.name=${monitor}`)}`,
    });
    return list.items.filter((e) => Date.parse(e.metadata.creationTimestamp) >= Math.floor(since / 1000) * 1000);
  };
  const linesOf = (pred: (l: LogLine) => boolean) => op.lines.filter((l) => l.monitor === monitor && pred(l));
  const evaluatedAfter = (t: number) =>
    op.waitForLog(
      (l) => l.msg === 'reconciled' && l.monitor === monitor && l.outcome === 'evaluated' && Date.parse(String(l.ts)) > t,
      30_000,
    );

  before(async () => {
    const cluster = await sharedCluster();
    kc = cluster.kubeConfig();
    monitors = new Monitors(kc);
    sim = new SimulatedStack(kc, { label: 'lifecycle', workloadNamespace: 'ml-lifecycle' });
    await sim.install();
    await monitors.create(monitor, sim.monitorSpec({ interval: '1s' }));
    recorder = new MonitorRecorder(kc, monitor);
    recorder.start();
    op = await OperatorProcess.start(cluster.kubeconfigPath);
    await recorder.when('Healthy', 'True', 0, 60_000).catch(async (err: unknown) => {
      throw new Error(`stack never became Healthy: ${JSON.stringify((await monitors.get(monitor)).status?.conditions)}`, { cause: err });
    });
  });

  after(async () => {
    await op.stop();
    await recorder.stop();
    await sim.stop();
    await monitors.delete(monitor);
  });

  it('counts a KaiwoJob that ran longer than failedWindow (1 h) and then failed, and logs the transition once', async () => {
    await sim.kaiwoJob('long-train', 'RUNNING', { startedAt: new Date(Date.now() - 2 * HOUR) });
    const running = await waitFor('long-train counted running', async () => {
      const m = await monitors.get(monitor);
      return m.status?.summary?.workloads?.counts?.running === 3 ? m : undefined;
    });
    expect(running.status?.conditions?.find((c) => c.type === 'WorkloadsHealthy')?.status).to.equal('True');

    const failedAt = Date.now();
    await sim.setKaiwoJobStatus('long-train', 'FAILED');
    const hit = await recorder.when('WorkloadsHealthy', 'False', failedAt);
    expect(hit.condition.reason).to.equal('WorkloadsFailing');
    const f = hit.monitor.status?.findings?.find((x) => x.reason === 'WorkloadFailed' && x.object?.name === 'long-train');
    expect(f, 'WorkloadFailed finding for long-train').to.not.equal(undefined);
    expect(Math.abs(Date.parse(f?.since ?? '') - failedAt), 'failed at startTime + duration, not at admission 2 h ago').to.be.below(3000);
    expect(hit.monitor.status?.summary?.workloads?.counts).to.include({ failed: 1, total: 3 });

    // One info line for this transition, with everything needed to follow it.
    await evaluatedAfter(hit.at);
    const changed = linesOf((l) => l.msg === 'condition changed' && l.type === 'WorkloadsHealthy' && Date.parse(String(l.ts)) >= failedAt);
    expect(changed, JSON.stringify(changed)).to.have.length(1);
    expect(changed[0]).to.include({ level: 'info', from: 'True', to: 'False', reason: 'WorkloadsFailing', controller: 'kaiwomonitor' });
    expect(String(changed[0]?.reconcileID)).to.match(UUID);

    const healAt = Date.now();
    await sim.deleteKaiwoJob('long-train');
    await recorder.when('WorkloadsHealthy', 'True', healAt);
  });

  it("reports an ERROR job as WorkloadUnschedulable with Kaiwo's reason, keeping WorkloadsHealthy True (1 of 3 jobs)", async () => {
    const since = Date.now();
    await sim.kaiwoJob('oversized', 'ERROR', {
      unschedulable: { reason: 'InsufficientGPUs', message: 'Insufficient GPUs: requested 64 amd.com/gpu, cluster has 24' },
    });
    const seen = await waitFor('WorkloadUnschedulable finding', () =>
      recorder.seen.find((s) => s.at >= since && s.monitor.status?.findings?.some((f) => f.reason === 'WorkloadUnschedulable')),
    );
    const f = seen.monitor.status?.findings?.find((x) => x.reason === 'WorkloadUnschedulable');
    expect(f).to.deep.include({ severity: 'Warning', component: 'workloads' });
    expect(f?.message).to.match(
      /^KaiwoJob ml-lifecycle\/oversized is not schedulable \(InsufficientGPUs\): Insufficient GPUs: requested 64 amd\.com\/gpu, cluster has 24 — the workload requests more GPUs than Kaiwo counts/,
    );
    expect(seen.monitor.status?.summary?.workloads?.counts).to.include({ failed: 0, unschedulable: 1, total: 3 });
    const after = recorder.seen.filter((s) => s.at >= since).map((s) => s.conditions.find((c) => c.type === 'WorkloadsHealthy')?.status);
    expect(after.length).to.be.above(0);
    expect(
      after.filter((s) => s !== 'True'),
      `WorkloadsHealthy other than True (all: ${after.join(',')})`,
    ).to.deep.equal([]);
    await sim.deleteKaiwoJob('oversized');
  });

  it('raises no Critical and no Event through rolling restarts of the Kaiwo and Kueue Deployments (≈ 17 s without a leader each)', async () => {
    // Events have second-resolution timestamps: compare by name, not by time, so the previous test's Events
    // (written within the same second) are not counted.
    const before = new Set((await eventsSince(0)).map((e) => e.metadata.name));
    const start = Date.now();
    const [kaiwo, kueue] = await Promise.all([sim.rollingRestart('kaiwo'), sim.rollingRestart('kueue')]);
    for (const r of [kaiwo, kueue]) {
      expect(r.acquired.getTime() - r.lastRenew.getTime(), 'leaderless gap').to.be.within(
        sim.leaseDurationSeconds * 1000,
        sim.leaseDurationSeconds * 1000 + 4000,
      );
    }
    // The monitor evaluated while each Lease had expired and no new leader held it yet.
    for (const r of [kaiwo, kueue]) {
      const expired = r.lastRenew.getTime() + sim.leaseDurationSeconds * 1000;
      const during = linesOf(
        (l) =>
          l.msg === 'reconciled' &&
          l.outcome === 'evaluated' &&
          Date.parse(String(l.ts)) >= expired &&
          Date.parse(String(l.ts)) < r.acquired.getTime(),
      );
      expect(during.length, 'evaluations while the Lease had expired and nobody held it').to.be.above(0);
    }
    // It saw the rollout (the new pod is Running but not yet Ready for a moment): a Warning, not a Critical.
    const reasonsSeen = new Set(
      recorder.seen.filter((s) => s.at >= start).flatMap((s) => s.monitor.status?.findings?.map((f) => f.reason) ?? []),
    );
    expect([...reasonsSeen], 'finding reasons seen since the restarts began').to.include('PodNotReady');
    // Everything the monitor did before the new leaders took over has been written and its Events sent.
    await evaluatedAfter(Math.max(kaiwo.acquired.getTime(), kueue.acquired.getTime()));
    const statuses = recorder.seen.filter((s) => s.at >= start);
    const notTrue = statuses.flatMap((s) =>
      s.conditions.filter((c) => ['Healthy', 'KaiwoOperatorHealthy', 'KueueHealthy'].includes(c.type) && c.status !== 'True'),
    );
    expect(notTrue, 'conditions during the restarts').to.deep.equal([]);
    expect(
      statuses.flatMap((s) => s.monitor.status?.findings ?? []).filter((f) => f.severity === 'Critical'),
      'Critical findings',
    ).to.deep.equal([]);
    expect(
      (await eventsSince(0)).filter((e) => !before.has(e.metadata.name)).map((e) => `${e.type} ${e.reason}`),
      'Events',
    ).to.deep.equal([]);
  });

  it("logs every reconcile at debug (duration, source states, next requeue) and a user's invalid spec at warn, never error", async () => {
    const r = linesOf((l) => l.msg === 'reconciled' && l.outcome === 'evaluated').at(-1);
    expect(r).to.include({ level: 'debug', controller: 'kaiwomonitor' });
    expect(r?.durationMs).to.be.a('number');
    expect(r?.requeueAfterMs).to.be.a('number').and.at.most(1100);
    expect(r?.sources).to.include({ 'workloads.kaiwoJobs': 'synced', 'operator.leases': 'synced' });
    expect(String(r?.reconcileID)).to.match(UUID);

    const bad = uniqueName('invalid-spec');
    await monitors.create(bad, { kueue: { podSelector: { matchLabels: { 'no good!': 'x' } } } });
    try {
      const warn = await op.waitForLog((l) => l.monitor === bad && l.msg.startsWith('invalid spec'));
      expect(warn.level).to.equal('warn');
      await waitFor('InvalidSpec written', async () => (await monitors.condition(bad, 'Ready'))?.reason === 'InvalidSpec');
      expect(op.lines.filter((l) => l.level === 'error' && (l.monitor === bad || JSON.stringify(l).includes(bad)))).to.deep.equal([]);
    } finally {
      await monitors.delete(bad);
    }
  });
});
