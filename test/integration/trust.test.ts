import { expect } from 'chai';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Condition, KaiwoMonitor } from '../../src/api/types.js';
import type { Cluster } from '../../src/localcluster/backend.js';
import { Monitors } from '../support/fakes/monitors.js';
import { SimulatedStack } from '../support/fakes/simulate.js';
import { rawJson } from '../../src/runtime/rawrequest.js';
import { sharedCluster, skipWithoutBackend } from '../support/cluster.js';
import { kubectl } from '../support/commands.js';
import { type LogLine, OperatorProcess } from '../support/operator.js';
import { waitFor } from '../support/wait.js';

const NS = 'kaiwo-monitor-system';
const LEASE = 'kaiwo-monitor-trust';

interface CoreEvent {
  reason: string;
  type: string;
  metadata: { name: string };
}

/** type → status/reason/lastTransitionTime: what a flap would change. */
const snapshot = (m: KaiwoMonitor) =>
  Object.fromEntries((m.status?.conditions ?? []).map((c: Condition) => [c.type, `${c.status}/${c.reason}@${c.lastTransitionTime}`]));

describe('integration: signals you can trust — restarts and failovers change nothing, Ready means observed', function () {
  this.timeout(600_000);
  before(skipWithoutBackend);
  let cluster: Cluster;
  let kc: KubeConfig;
  let sim: SimulatedStack;
  let monitors: Monitors;
  const name = 'trust';
  const running: OperatorProcess[] = [];

  const start = async () => {
    const op = await OperatorProcess.start(cluster.kubeconfigPath, [
      '--leader-elect',
      `--leader-election-namespace=${NS}`,
      `--leader-election-id=${LEASE}`,
    ]);
    running.push(op);
    await op.waitForLog((l) => l.msg === 'serving', 120_000);
    return op;
  };
  const stop = async (op: OperatorProcess) => {
    await op.stop('SIGTERM');
    running.splice(running.indexOf(op), 1);
  };
  /** The process has led, waited for its caches and evaluated the monitor at least once since. */
  const evaluatedAsLeader = async (op: OperatorProcess, monitor = name): Promise<LogLine> => {
    const synced = await op.waitForLog((l) => l.msg === 'caches synced; starting workers', 120_000);
    return op.waitForLog(
      (l) =>
        l.msg === 'reconciled' &&
        l.monitor === monitor &&
        l.outcome === 'evaluated' &&
        Date.parse(String(l.ts)) >= Date.parse(String(synced.ts)),
      120_000,
    );
  };
  const events = async (monitor = name) =>
    (
      await rawJson<{ items: CoreEvent[] }>(kc, {
        method: 'GET',
        path: `/api/v1/namespaces/default/events?fieldSelector=${encodeURIComponent(`involvedObject.name=${monitor}`)}`,
      })
    ).items
      .map((e) => `${e.type}/${e.reason}`)
      .sort();

  before(async () => {
    cluster = await sharedCluster();
    kc = cluster.kubeConfig();
    await kubectl(cluster.kubeconfigPath, ['create', 'namespace', NS]).catch(() => undefined);
    sim = new SimulatedStack(kc, { label: 'trust', workloadNamespace: 'ml-trust' });
    await sim.install();
    monitors = new Monitors(kc);
    await monitors.create(name, sim.monitorSpec({ interval: '2s', gpuNodes: { enabled: false } }));
  });

  after(async () => {
    for (const op of [...running]) await stop(op);
    await sim.stop();
    await monitors.delete(name);
    await monitors.delete('trust-wait');
  });

  /** 5 restarts of a single replica, then 3 failovers leader → standby; after each, nothing changed. */
  async function restartsAndFailovers(label: string): Promise<void> {
    const before = snapshot(await monitors.get(name));
    const eventsBefore = await events();
    for (let i = 0; i < 5; i++) {
      const [old] = running;
      if (old) await stop(old);
      const op = await start();
      await evaluatedAsLeader(op);
      expect(snapshot(await monitors.get(name)), `${label}: conditions after restart ${i + 1}`).to.deep.equal(before);
    }
    for (let i = 0; i < 3; i++) {
      const standby = await start();
      await standby.waitForLog((l) => l.msg === 'serving', 120_000); // up and watching
      const leader = running[0];
      if (leader) await stop(leader);
      await evaluatedAsLeader(standby);
      expect(snapshot(await monitors.get(name)), `${label}: conditions after failover ${i + 1}`).to.deep.equal(before);
    }
    expect(await events(), `${label}: no new Events`).to.deep.equal(eventsBefore);
  }

  it('on a healthy stack: 5 restarts and 3 failovers change no condition and emit no Event', async () => {
    const op = await start();
    await evaluatedAsLeader(op);
    const m = await monitors.get(name);
    expect(m.status?.conditions?.find((c) => c.type === 'Healthy')?.status, JSON.stringify(m.status?.conditions)).to.equal('True');
    await restartsAndFailovers('healthy');
  });

  it('on a faulted stack: the same, and the fault stays reported through every hand-over', async () => {
    await sim.setClusterQueueActive(false);
    await waitFor('KueueHealthy to turn False', async () => (await monitors.condition(name, 'KueueHealthy'))?.status === 'False', 30_000);
    try {
      await restartsAndFailovers('faulted');
      expect((await monitors.condition(name, 'KueueHealthy'))?.reason).to.equal('ClusterQueueInactive');
    } finally {
      await sim.setClusterQueueActive(true); // heal even when an assertion failed, so the next test starts healthy
    }
  });

  it('kubectl wait --for=condition=Ready, then read: every component evaluated, and no later rewrite', async () => {
    const waitName = 'trust-wait';
    await waitFor('the stack to heal (Healthy=True)', async () => (await monitors.condition(name, 'Healthy'))?.status === 'True', 30_000);
    await monitors.create(waitName, sim.monitorSpec({ interval: '1s', gpuNodes: { enabled: false } }));
    await kubectl(cluster.kubeconfigPath, ['wait', '--for=condition=Ready', `kaiwomonitor/${waitName}`, '--timeout=60s']);
    const read = await monitors.get(waitName);
    const conds = read.status?.conditions ?? [];
    expect(
      conds.filter((c) => c.reason === 'NotObserved' || c.reason === 'Observing'),
      JSON.stringify(conds),
    ).to.deep.equal([]);
    expect(conds.find((c) => c.type === 'Healthy')?.status).to.equal('True');
    expect(conds.map((c) => c.type)).to.not.include('Reconciling');
    // Three more evaluations (interval 1s) after the read: the status must not have been rewritten.
    const leader = running.find((op) => op.lines.some((l) => l.msg === 'caches synced; starting workers'));
    if (!leader) throw new Error('no leader running');
    const after = Date.parse(read.status?.lastCheckTime ?? '') || Date.now();
    let seen = 0;
    await leader.waitForLog(
      (l) => l.msg === 'reconciled' && l.monitor === waitName && Date.parse(String(l.ts)) > after + 1000 && ++seen >= 3,
      30_000,
    );
    const later = await monitors.get(waitName);
    expect(later.metadata.resourceVersion, 'no status write after Ready=True').to.equal(read.metadata.resourceVersion);
  });
});
