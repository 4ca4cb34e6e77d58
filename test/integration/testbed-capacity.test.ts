import { expect } from 'chai';
import { appendFile } from 'node:fs/promises';
import type { Condition } from '../../src/api/types.js';
import { Monitors } from '../support/fakes/monitors.js';
import { KAIWO_NAMESPACE } from '../../src/localcluster/testbed/kaiwo.js';
import { TestBed } from '../../src/localcluster/testbed/testbed.js';
import { deleteJob, jobPod, kueuePath as kueueCollection, quotaReserved, submitJob } from '../../src/localcluster/testbed/workloads.js';
import { rawJson } from '../../src/runtime/rawrequest.js';
import {
  editQueueConfig,
  type QueueConfig,
  QUEUE_CONFIG_PATH,
  stopTestBed,
  watchTestBed,
  type Watching,
} from '../support/testbed-monitor.js';
import { waitFor } from '../support/wait.js';

/**
 * "Why is it pending?" and the operator's logs on the full test bed (src/localcluster/testbed): a ClusterQueue the real Kaiwo
 * operator syncs from its KaiwoQueueConfig, the real Kueue manager admits batch Jobs by quota onto kwok GPU nodes, the
 * real kube-scheduler places (or cannot place) their pods, and kwok serves the Kaiwo pods' container logs (the real
 * operator's output) through the API server's pods/log.
 */
const MON = 'why-pending';
const NS = 'ml-capacity';
const FLAVOR = 'mi300x-pool';
const CQ = 'why-pending';
const log = (m: string) => process.stderr.write(`      [testbed] ${m}\n`);

describe('e2e on the test bed: capacity truth with the real Kueue, and operator logs served by kwok', function () {
  this.timeout(300_000);
  const tb = new TestBed({ log });
  const state: Watching = {};
  const rec = () => {
    if (!state.recorder) throw new Error('not recording');
    return state.recorder;
  };
  const kueuePath = (plural: string, ns?: string) => kueueCollection(tb.kueue.apiVersion, plural, ns);
  const req = <T>(method: string, path: string, body?: unknown) =>
    rawJson<T>(tb.kc, { method, path, ...(body !== undefined ? { body } : {}) });

  /** A batch Job of one pod asking 8 AMD GPUs in the queue's LocalQueue; kwok keeps its pod running for an hour. */
  const job = (name: string) =>
    submitJob(tb.kc, NS, name, { queue: CQ, resource: 'amd.com/gpu', gpus: 8, runFor: '1h', requests: { cpu: '8' } });
  const admitted = (jobName: string) => quotaReserved(tb.kc, tb.kueue.apiVersion, NS, jobName);
  const podNode = async (jobName: string) => {
    const p = await jobPod(tb.kc, NS, jobName);
    return p?.phase === 'Running' ? p.node : undefined;
  };

  before(async function () {
    this.timeout(900_000);
    await tb.start();
    await req('POST', '/api/v1/namespaces', { metadata: { name: NS } });
    // The real Kaiwo deletes every ClusterQueue and ResourceFlavor its KaiwoQueueConfig does not list: a platform
    // engineer adds them there. A flavor on the two MI300X nodes (by the pool label Kaiwo gave them), a ClusterQueue
    // with 16 of their GPUs for the team's namespace (Kaiwo creates its LocalQueue there, named after the queue).
    await waitFor(
      'KaiwoQueueConfig kaiwo READY',
      async () => (await req<QueueConfig>('GET', QUEUE_CONFIG_PATH).catch(() => undefined))?.status?.status === 'READY',
      120_000,
      250,
    );
    await editQueueConfig(tb.kc, (qc) => {
      qc.spec.resourceFlavors = [
        ...(qc.spec.resourceFlavors ?? []),
        { name: FLAVOR, nodeLabels: { 'kaiwo/nodepool': 'amd-mi300x-8gpu-86core-900gi' } },
      ];
      qc.spec.clusterQueues = [
        ...(qc.spec.clusterQueues ?? []),
        {
          name: CQ,
          namespaces: [NS],
          spec: {
            namespaceSelector: {},
            resourceGroups: [
              {
                coveredResources: ['cpu', 'amd.com/gpu'],
                flavors: [
                  {
                    name: FLAVOR,
                    resources: [
                      { name: 'cpu', nominalQuota: '1000' },
                      { name: 'amd.com/gpu', nominalQuota: '16' },
                    ],
                  },
                ],
              },
            ],
          },
        },
      ];
    });
    await waitFor(
      `ClusterQueue ${CQ} Active and its LocalQueue`,
      async () => {
        const cq = await req<{ status?: { conditions?: Condition[] } }>('GET', `${kueuePath('clusterqueues')}/${CQ}`).catch(
          () => undefined,
        );
        const lq = await req('GET', `${kueuePath('localqueues', NS)}/${CQ}`).catch(() => undefined);
        return cq?.status?.conditions?.some((c) => c.type === 'Active' && c.status === 'True') && lq !== undefined;
      },
      120_000,
      200,
    );
    await watchTestBed(
      tb,
      MON,
      {
        interval: '5s',
        operator: { enabled: false },
        kueue: { enabled: false },
        gpuNodes: { enabled: false },
        workloads: { enabled: false },
        logs: { enabled: true, window: '20s' },
      },
      state,
    );
  });

  after(async function () {
    this.timeout(120_000);
    await stopTestBed(tb, state);
  });

  it('a node loses its GPUs while Jobs are queued: PendingOnLostCapacity names it with the numbers; healed when the GPUs are back', async () => {
    await rec().when('CapacityHealthy', 'True', 0, 120_000);
    await job('running');
    await waitFor('Job running admitted by Kueue', () => admitted('running'), 60_000, 200);
    const busy = await waitFor('its pod running on a GPU node', () => podNode('running'), 60_000, 200);
    const lost = busy === 'mi300x-0' ? 'mi300x-1' : 'mi300x-0';
    const t0 = Date.now();
    await tb.nodes.setAllocatableGpus(lost, 0); // the device plugin marks all 8 GPUs unhealthy
    await job('second'); // Kueue admits it by quota (8 of 16 free); the scheduler finds no GPUs for its pod
    await waitFor('Job second admitted by Kueue', () => admitted('second'), 60_000, 200);
    await job('third'); // now the quota is full: Kueue keeps it pending
    const hit = await rec().when('CapacityHealthy', 'False', t0, 60_000, (c) => c.message.includes('reserved by admitted Workloads'));
    expect(hit.condition.reason).to.equal('PendingOnLostCapacity');
    expect(hit.condition.message)
      .to.include(
        `ResourceFlavor ${FLAVOR}: 16 amd.com/gpu reserved by admitted Workloads (ClusterQueue ${CQ}) but only 8 healthy; ` +
          `8 wait for the 8 GPUs lost on ${lost} (8 of 8 unhealthy): a hardware problem, not quota`,
      )
      .and.match(/the scheduler cannot place 1 pod of admitted work/);
    const rows = await waitFor(
      'the third Job counted as pending',
      () =>
        rec()
          .seen.filter((s) => s.at >= t0)
          .map((s) => s.monitor.status?.summary?.capacity?.table?.rows ?? [])
          .find((r) => r.some((x) => x.slice(0, 8).join(' ') === `${CQ} ${FLAVOR} amd.com/gpu 16 8 8 16 8`)),
      60_000,
      200,
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}; last rows: ${JSON.stringify(rec().seen.at(-1)?.monitor.status?.summary?.capacity?.table?.rows)}`);
    });
    expect(rows.find((x) => x[0] === CQ)?.[8]).to.match(/^lost GPUs/);

    const t1 = Date.now();
    await tb.nodes.setAllocatableGpus(lost, 8);
    const healed = await rec().when('CapacityHealthy', 'True', t1, 60_000);
    expect(healed.monitor.status?.summary?.capacity?.counts).to.include({ gpusLost: 0 });
    await waitFor('the second Job running on the serviced node', () => podNode('second'), 60_000, 200);
    for (const j of ['running', 'second', 'third']) await deleteJob(tb.kc, NS, j);
  });

  it('GPUs lost under work that runs: RunningOnDegradedCapacity (a Warning naming the node), never the Critical, until serviced', async () => {
    await rec().when('CapacityHealthy', 'True', 0, 120_000);
    await job('run-a');
    await job('run-b');
    const [a, b] = [
      await waitFor('run-a running', () => podNode('run-a'), 60_000, 200),
      await waitFor('run-b running', () => podNode('run-b'), 60_000, 200),
    ];
    expect([a, b].sort()).to.deep.equal(['mi300x-0', 'mi300x-1']);
    const t0 = Date.now();
    await tb.nodes.setAllocatableGpus(a, 6); // the device plugin marks 2 GPUs under run-a unhealthy; the pod runs on
    try {
      const hit = await waitFor(
        'RunningOnDegradedCapacity',
        () =>
          rec().seen.find((x) => x.at >= t0 && (x.monitor.status?.findings ?? []).some((f) => f.reason === 'RunningOnDegradedCapacity')),
        60_000,
        100,
      );
      const f = hit.monitor.status?.findings?.find((x) => x.reason === 'RunningOnDegradedCapacity');
      expect(f?.severity).to.equal('Warning');
      expect(f?.message).to.include(a).and.include('2 of 8 unhealthy');
      for (const x of rec().seen.filter((y) => y.at >= t0)) {
        expect(x.conditions.find((c) => c.type === 'CapacityHealthy')?.status, `at ${new Date(x.at).toISOString()}`).to.not.equal('False');
        expect((x.monitor.status?.findings ?? []).filter((y) => y.severity === 'Critical').map((y) => y.message)).to.deep.equal([]);
      }
      await tb.nodes.setAllocatableGpus(a, 8);
      await waitFor(
        'the finding gone once serviced',
        async () => !(await new Monitors(tb.kc).get(MON)).status?.findings?.some((x) => x.reason === 'RunningOnDegradedCapacity'),
        60_000,
        200,
      );
    } finally {
      await tb.nodes.setAllocatableGpus(a, 8);
      for (const j of ['run-a', 'run-b']) await deleteJob(tb.kc, NS, j);
    }
  });

  it("error lines in the Kaiwo operator's kwok-served container log: ReconcilerErrors, then recovery when they stop", async () => {
    const ok = await rec().when('OperatorLogsHealthy', 'True', 0, 120_000);
    expect(ok.monitor.status?.summary?.logs?.counts?.streams).to.be.at.least(1);
    const t0 = Date.now();
    const line = (i: number) =>
      JSON.stringify({
        level: 'error',
        ts: Date.now() / 1000,
        logger: 'controller.kaiwoqueueconfig',
        msg: 'Reconciler error',
        controller: 'kaiwoqueueconfig',
        controllerKind: 'KaiwoQueueConfig',
        KaiwoQueueConfig: { name: 'kaiwo' },
        name: 'kaiwo',
        reconcileID: String(i),
        error: 'failed to create LocalQueue team-x/kaiwo: namespaces "team-x" not found',
      });
    await appendFile(tb.kaiwo.logFile, `${Array.from({ length: 30 }, (_, i) => line(i)).join('\n')}\n`);
    const hit = await rec().when('OperatorLogsHealthy', 'False', t0, 60_000);
    expect(hit.condition.reason).to.equal('ReconcilerErrors');
    expect(hit.condition.message)
      .to.include('"Reconciler error" lines from controller kaiwoqueueconfig')
      .and.include('KaiwoQueueConfig kaiwo: Reconciler error: failed to create LocalQueue team-x/kaiwo: namespaces "team-x" not found');
    expect(hit.monitor.status?.findings?.find((f) => f.reason === 'ReconcilerErrors')?.object).to.deep.equal({
      kind: 'KaiwoQueueConfig',
      name: 'kaiwo',
    });
    const messages = hit.monitor.status?.findings?.map((f) => f.message) ?? [];
    expect(
      messages.filter((m) => m.includes(KAIWO_NAMESPACE) || m.includes('last (pod ')),
      `findings naming the namespace or the last pod, among: ${JSON.stringify(messages)}`,
    ).to.not.be.empty;
    const healed = await rec().when('OperatorLogsHealthy', 'True', hit.at, 90_000);
    expect(healed.at - t0).to.be.at.least(20_000);
  });
});
