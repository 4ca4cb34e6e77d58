import { expect } from 'chai';
import type { KubeConfig } from '@kubernetes/client-node';
import type { KaiwoMonitor } from '../../src/api/types.js';
import type { Cluster } from '../../src/localcluster/backend.js';
import { GpuPool } from '../support/fakes/capacity-sim.js';
import { Monitors } from '../support/fakes/monitors.js';
import { MonitorRecorder } from '../support/fakes/scenarios.js';
import { sharedCluster, skipWithoutBackend, uniqueName } from '../support/cluster.js';
import { kaiwoMonitor } from '../support/commands.js';
import { OperatorProcess } from '../support/operator.js';
import { waitFor } from '../support/wait.js';

/** Only the capacity component, scoped to one pool. */
const only = (pool: GpuPool) => ({
  operator: { enabled: false },
  kueue: { enabled: false },
  gpuNodes: { enabled: false },
  workloads: { enabled: false },
  capacity: pool.capacitySpec(),
});

const findings = (m: KaiwoMonitor, reason: string) =>
  (m.status?.findings ?? []).filter((f) => f.component === 'capacity' && f.reason === reason);

describe('integration: capacity truth on a real API server (why is it pending?)', function () {
  this.timeout(180_000);
  before(skipWithoutBackend);
  let cluster: Cluster;
  let kc: KubeConfig;
  let op: OperatorProcess;
  const pools: GpuPool[] = [];
  const cleanup: (() => Promise<unknown>)[] = [];

  before(async () => {
    cluster = await sharedCluster();
    kc = cluster.kubeConfig();
    op = await OperatorProcess.start(cluster.kubeconfigPath, [], { metrics: 'plain' });
  });
  after(async () => {
    await op.stop();
    for (const c of cleanup.reverse()) await c();
    for (const p of pools) await p.uninstall();
  });

  async function setUp(
    opts: ConstructorParameters<typeof GpuPool>[2] = {},
  ): Promise<{ pool: GpuPool; name: string; recorder: MonitorRecorder; monitors: Monitors }> {
    const pool = new GpuPool(kc, uniqueName('cap').slice(4), opts);
    pools.push(pool);
    await pool.install();
    const name = uniqueName('capacity');
    const monitors = new Monitors(kc);
    await monitors.create(name, only(pool));
    const recorder = new MonitorRecorder(kc, name);
    recorder.start();
    cleanup.push(
      () => recorder.stop(),
      () => monitors.delete(name),
    );
    return { pool, name, recorder, monitors };
  }

  it('QuotaExceedsHealthyCapacity: a quota beyond the healthy GPUs is a Warning, Critical once admitted work exceeds them', async () => {
    const { pool, recorder } = await setUp({ quota: 24 });
    const first = await recorder.when('CapacityHealthy', 'True', 0, 60_000);
    const [warning] = findings(first.monitor, 'QuotaExceedsHealthyCapacity');
    expect(warning?.severity).to.equal('Warning');
    expect(warning?.message).to.include(
      `ClusterQueue ${pool.cq}, flavor ${pool.flavor}: promises 24 amd.com/gpu (nominal 24) but the flavor's nodes have 16 healthy`,
    );
    const t0 = Date.now();
    for (const w of ['a', 'b', 'c']) await pool.workload(w, { admitted: true });
    const critical = await recorder.when('CapacityHealthy', 'False', t0, 30_000, (c) => c.reason === 'QuotaExceedsHealthyCapacity');
    expect(critical.condition.reason).to.equal('QuotaExceedsHealthyCapacity');
    expect(critical.condition.message).to.include(
      `ResourceFlavor ${pool.flavor}: 24 amd.com/gpu reserved by admitted Workloads (ClusterQueue ${pool.cq}) but its nodes have only 16 and none lost`,
    );
    expect(critical.monitor.status?.summary?.capacity?.table?.rows[0]).to.deep.equal([
      pool.cq,
      pool.flavor,
      'amd.com/gpu',
      '24',
      '16',
      '0',
      '24',
      '0',
      'over quota',
    ]);
  });

  it('PendingOnLostCapacity: a node loses its GPUs while Jobs wait; the monitor names the node and the numbers, the metrics follow, and it heals', async () => {
    const { pool, name, recorder } = await setUp({ quota: 16 });
    await pool.workload('running', { admitted: true });
    await recorder.when('CapacityHealthy', 'True', 0, 60_000);
    const lostNode = pool.nodes[1] ?? '';
    const t0 = Date.now();
    await pool.setNode(lostNode, { ready: true, allocatable: 0 }); // the device plugin reports every GPU unhealthy
    await pool.workload('admitted-on-nothing', { admitted: true }); // Kueue still admits by quota...
    await pool.unschedulablePod('admitted-on-nothing-pod'); // ...and the scheduler finds no GPUs for its pod
    await pool.workload('queued'); // ...and the next one waits for quota
    // The Workloads are created, then admitted (as Kueue does): wait for the settled answer, not the first False.
    const hit = await recorder.when(
      'CapacityHealthy',
      'False',
      t0,
      30_000,
      (c, m) => c.message.includes('reserved by admitted Workloads') && m.status?.summary?.capacity?.counts?.pendingWorkloads === 1,
    );
    expect(hit.condition.reason).to.equal('PendingOnLostCapacity');
    expect(hit.condition.message)
      .to.include(
        `ResourceFlavor ${pool.flavor}: 16 amd.com/gpu reserved by admitted Workloads (ClusterQueue ${pool.cq}) but only 8 healthy; ` +
          `8 wait for the 8 GPUs lost on ${lostNode} (8 of 8 unhealthy): a hardware problem, not quota`,
      )
      .and.include(`${pool.ns}/admitted-on-nothing-pod`);
    const counts = hit.monitor.status?.summary?.capacity?.counts;
    expect(counts).to.include({ gpusPromised: 16, gpusHealthy: 8, gpusLost: 8, gpusInUse: 16, gpusPending: 8, pendingWorkloads: 1 });
    const metric = (kind: string) =>
      op.metric('kaiwo_monitor_capacity_gpus', { monitor: name, cluster_queue: pool.cq, flavor: pool.flavor, kind });
    await waitFor('the lost-GPU gauge', async () => (await metric('lost')) === 8, 10_000);
    expect(await metric('pending')).to.equal(8);
    expect(await metric('healthy')).to.equal(8);

    const t1 = Date.now();
    await pool.setNode(lostNode, { ready: true }); // serviced
    const healed = await recorder.when('CapacityHealthy', 'True', t1, 30_000);
    expect(healed.monitor.status?.summary?.capacity?.counts).to.include({ gpusHealthy: 16, gpusLost: 0 });
    await waitFor('the lost-GPU gauge back to 0', async () => (await metric('lost')) === 0, 10_000);
    // NotReady counts the node's GPUs as lost too.
    const t2 = Date.now();
    await pool.setNode(lostNode, { ready: false });
    const notReady = await recorder.when('CapacityHealthy', 'False', t2, 30_000);
    expect(notReady.condition.message).to.include(`lost on ${lostNode} (NotReady/KubeletNotReady)`);
    await pool.setNode(lostNode, { ready: true });
  });

  it('PendingOnQuota: healthy GPUs are free but the queue is at its quota (a policy limit, a Warning)', async () => {
    const { pool, recorder } = await setUp({ quota: 8 });
    await pool.workload('running', { admitted: true });
    const t0 = Date.now();
    await pool.workload('waiting-1');
    await pool.workload('waiting-2');
    const seen = await waitFor(
      'PendingOnQuota for both',
      () =>
        recorder.seen.find(
          (s) =>
            s.at >= t0 &&
            findings(s.monitor, 'PendingOnQuota').some(
              (f) => f.message.includes('2 pending Workloads') && f.message.includes('Kueue: WaitingForQuota ×2'),
            ),
        ),
      30_000,
      50,
    );
    const [f] = findings(seen.monitor, 'PendingOnQuota');
    expect(f?.severity).to.equal('Warning');
    expect(f?.message)
      .to.include(
        `ClusterQueue ${pool.cq}, flavor ${pool.flavor}: 2 pending Workloads need 16 amd.com/gpu (smallest 8); 8 healthy GPUs are free but the quota is exhausted (8 in use of nominal 8)`,
      )
      .and.include('Kueue: WaitingForQuota ×2');
    expect(seen.conditions.find((c) => c.type === 'CapacityHealthy')?.status).to.equal('True');
    expect(seen.monitor.status?.summary?.capacity?.table?.rows[0]?.[8]).to.equal('quota (WaitingForQuota)');
  });

  it('kaiwo-monitor check -o wide prints the capacity table (one-shot, no operator involved)', async () => {
    const { pool, name, recorder } = await setUp({ quota: 16 });
    await pool.workload('running', { admitted: true });
    await pool.workload('waiting');
    await pool.setNode(pool.nodes[0] ?? '', { ready: false });
    await recorder.when('CapacityHealthy', 'False', 0, 60_000);
    const r = await kaiwoMonitor(['check', name, '-o', 'wide', `--kubeconfig=${cluster.kubeconfigPath}`, '--timeout=20s']);
    expect(r.code, r.stderr).to.equal(1);
    expect(r.stdout).to.match(/CapacityHealthy\s+False\s+PendingOnLostCapacity/);
    expect(r.stdout).to.include('CAPACITY (False 8 healthy, 8 lost, 8 pending GPUs)');
    expect(r.stdout).to.match(/QUEUE\s+FLAVOR\s+RESOURCE\s+PROMISED\s+HEALTHY\s+LOST\s+IN-USE\s+PENDING\s+WHY/);
    expect(r.stdout).to.match(
      new RegExp(`${pool.cq}\\s+${pool.flavor}\\s+amd.com/gpu\\s+16\\s+8\\s+8\\s+8\\s+8\\s+lost GPUs \\(WaitingForQuota\\)`),
    );
    const plain = await kaiwoMonitor(['check', name, `--kubeconfig=${cluster.kubeconfigPath}`, '--timeout=20s']);
    expect(plain.stdout).not.to.include('PROMISED');
  });

  it("NodeNotInKaiwoPool: a GPU node without Kaiwo's pool label while the others have one", async () => {
    const { pool, recorder } = await setUp({ nodes: 3 });
    await recorder.when('CapacityHealthy', 'True', 0, 60_000);
    const [a, b, c] = pool.nodes;
    const t0 = Date.now();
    await pool.setNode(a ?? '', { ready: true, labels: { 'kaiwo/nodepool': 'amd-mi300x-8gpu-96core-1024gi' } });
    await pool.setNode(b ?? '', { ready: true, labels: { 'kaiwo/nodepool': 'amd-mi300x-4gpu-96core-1024gi' } });
    const seen = await waitFor(
      'NodeNotInKaiwoPool',
      () =>
        recorder.seen.find(
          (s) => s.at >= t0 && findings(s.monitor, 'NodeNotInKaiwoPool').length && findings(s.monitor, 'KaiwoPoolLabelMismatch').length,
        ),
      30_000,
      50,
    );
    const [missing] = findings(seen.monitor, 'NodeNotInKaiwoPool');
    expect(missing?.object).to.deep.include({ kind: 'Node', name: c });
    expect(missing?.message).to.include(`GPU node ${c ?? ''} (8 amd.com/gpu) has no kaiwo/nodepool label while 2 other node(s) do`);
    expect(findings(seen.monitor, 'KaiwoPoolLabelMismatch')[0]?.message).to.include(
      `node ${b ?? ''} is in Kaiwo pool amd-mi300x-4gpu-96core-1024gi (4 GPUs per node) but has 8`,
    );
    expect(seen.monitor.status?.summary?.capacity?.counts?.nodesNotInKaiwoPool).to.equal(1);
  });
});
