import { expect } from 'chai';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Cluster } from '../../src/localcluster/backend.js';
import { SimulatedStack } from '../support/fakes/simulate.js';
import { rawJson } from '../../src/runtime/rawrequest.js';
import { sharedCluster, skipWithoutBackend } from '../support/cluster.js';
import { Monitors } from '../support/fakes/monitors.js';
import { OperatorProcess } from '../support/operator.js';
import { MonitorRecorder, scenarioSpec, scenarios } from '../support/fakes/scenarios.js';

interface CoreEvent {
  reason: string;
  type: string;
  message: string;
  metadata: { creationTimestamp: string };
}

describe('integration: each fault class is detected within about a second, with one Event and a finding, and recovers', function () {
  this.timeout(180_000);
  before(skipWithoutBackend);
  let cluster: Cluster;
  let kc: KubeConfig;
  let sim: SimulatedStack;
  let op: OperatorProcess;
  let recorder: MonitorRecorder;
  const monitor = 'faults';
  const latencies: [string, number][] = [];

  before(async () => {
    cluster = await sharedCluster();
    kc = cluster.kubeConfig();
    sim = new SimulatedStack(kc, { label: 'faults', workloadNamespace: 'ml-faults', leaseDurationSeconds: 3 });
    await sim.install();
    const metrics = await sim.startOperatorMetrics();
    const monitors = new Monitors(kc);
    await monitors.create(monitor, scenarioSpec(sim, metrics));
    recorder = new MonitorRecorder(kc, monitor);
    recorder.start();
    op = await OperatorProcess.start(cluster.kubeconfigPath);
    await recorder.when('Healthy', 'True', 0, 60_000).catch(async (err: unknown) => {
      const m = await monitors.get(monitor);
      throw new Error(`stack never became Healthy: ${JSON.stringify(m.status?.conditions)}`, { cause: err });
    });
  });

  after(async () => {
    await op.stop();
    await recorder.stop();
    await sim.stop();
    await new Monitors(kc).delete(monitor);
    if (latencies.length) {
      process.stderr.write(
        `\n      detection latency (fault → condition False):\n${latencies.map(([n, ms]) => `        ${String(ms).padStart(5)} ms  ${n}`).join('\n')}\n`,
      );
    }
  });

  for (const s of scenarios) {
    it(s.name, async () => {
      const before = Date.now();
      const faultAt = await s.inject(sim);
      const hit = await recorder.when(s.condition, 'False', before, 30_000).catch((err: unknown) => err as Error);
      // Heal before asserting anything, so one scenario cannot break the next.
      const healAt = Date.now();
      await s.heal(sim);
      const healed = await recorder.when(s.condition, 'True', healAt, 30_000);
      await recorder.when('Healthy', 'True', healAt, 30_000);
      if (hit instanceof Error) throw hit;
      const latency = Math.max(0, hit.at - faultAt);
      latencies.push([s.name, latency]);
      expect(hit.condition.reason).to.equal(s.reason);
      expect(latency, `detected after ${latency} ms`).to.be.below(2000);
      expect(hit.monitor.status?.findings?.map((f) => f.reason)).to.include(s.finding);
      expect(healed.monitor.status?.findings?.map((f) => f.reason)).to.not.include(s.finding);
      // The healed status was written by a later reconcile than the fault's (one key is never reconciled twice
      // at once), so every Event of the fault has been written by now.
      const events = await rawJson<{ items: CoreEvent[] }>(kc, {
        method: 'GET',
        path: `/api/v1/namespaces/default/events?fieldSelector=${encodeURIComponent(`involvedObject.name=${monitor},reason=${s.reason}`)}`,
      });
      const fresh = events.items.filter((e) => Date.parse(e.metadata.creationTimestamp) >= Math.floor(before / 1000) * 1000);
      expect(fresh, 'Events for this transition').to.have.length(1);
      expect(fresh[0]?.type).to.equal('Warning');
    });
  }
});
