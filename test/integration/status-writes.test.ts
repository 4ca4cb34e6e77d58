import { expect } from 'chai';
import { PatchStrategy } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import { MAX_INT64_DOUBLE } from '../../src/api/clamp.js';
import { GROUP, PLURAL, VERSION } from '../../src/api/schema.js';
import type { Condition, KaiwoMonitor, KaiwoMonitorStatus } from '../../src/api/types.js';
import { writeMonitorStatus } from '../../src/controller/status-write.js';
import type { Cluster } from '../../src/localcluster/backend.js';
import { Monitors } from '../support/fakes/monitors.js';
import { HttpStatusError } from '../../src/runtime/http.js';
import { rawJson } from '../../src/runtime/rawrequest.js';
import { writeStatus } from '../../src/runtime/status.js';
import { sharedCluster, skipWithoutBackend, uniqueName } from '../support/cluster.js';
import { OperatorProcess } from '../support/operator.js';
import { waitFor } from '../support/wait.js';

const NOW = () => new Date();
const cond = (type: string, status: Condition['status'], reason: string, message = 'ok'): Condition => ({
  type,
  status,
  reason,
  message,
  lastTransitionTime: '2026-01-01T00:00:00Z',
  observedGeneration: 1,
});

describe('integration: every status the operator writes fits the CRD (real API server)', function () {
  this.timeout(120_000);
  before(skipWithoutBackend);
  let cluster: Cluster;
  let kc: KubeConfig;
  let monitors: Monitors;
  const created: string[] = [];
  const fresh = async (prefix: string): Promise<KaiwoMonitor> => {
    const name = uniqueName(prefix);
    created.push(name);
    return monitors.create(name, {});
  };

  before(async () => {
    cluster = await sharedCluster();
    kc = cluster.kubeConfig();
    monitors = new Monitors(kc);
  });

  after(async () => {
    for (const n of created) await monitors.delete(n);
  });

  it('the API server rejects an unfitted status (a count ≥ 2^63): the test case is real', async () => {
    const m = await fresh('unfitted');
    const status = {
      conditions: [cond('Ready', 'True', 'Reconciled')],
      summary: { gpuNodes: { display: 'x', counts: { gpusInstalled: 2 ** 64 } } },
    };
    const err = await writeStatus(kc, { objectPath: `/apis/${GROUP}/${VERSION}/${PLURAL}/${m.metadata.name}` }, m, status).catch(
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(HttpStatusError);
    expect((err as HttpStatusError).status).to.equal(422);
  });

  it('writes a count ≥ 2^63 clamped to int64 and a 100 KB message truncated, and keeps no PATCH going when nothing else changes', async () => {
    const m = await fresh('clamped');
    const big = 'x'.repeat(100 * 1024);
    const status: KaiwoMonitorStatus = {
      observedGeneration: 1,
      lastCheckTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      conditions: [cond('Ready', 'True', 'Reconciled'), cond('Healthy', 'False', 'ComponentsUnhealthy', big)],
      summary: { gpuNodes: { display: big, counts: { gpusInstalled: 1e19, idle: Infinity, ok: 3 } } },
      findings: [
        { component: 'gpuNodes', severity: 'Critical', reason: 'GPUsUnavailable', message: big, object: { kind: 'Node', name: 'n1' } },
      ],
      findingCounts: { total: 2 ** 70, critical: 1, warning: 0, info: 0 },
    };
    const res = await writeMonitorStatus(kc, m, status, { now: NOW(), heartbeatMs: 600_000 });
    expect(res.written).to.equal(true);
    expect(res.rejected).to.equal(undefined);
    const stored = (await monitors.get(m.metadata.name)).status;
    expect(stored?.summary?.gpuNodes?.counts).to.deep.equal({ gpusInstalled: MAX_INT64_DOUBLE, idle: MAX_INT64_DOUBLE, ok: 3 });
    expect(stored?.summary?.gpuNodes?.display?.length).to.equal(64);
    expect(stored?.findingCounts?.total).to.equal(MAX_INT64_DOUBLE);
    const healthy = stored?.conditions?.find((c) => c.type === 'Healthy');
    expect(healthy?.message.length).to.equal(32768);
    expect(stored?.findings?.[0]?.message.length).to.equal(1024);
    expect(stored?.conditions?.find((c) => c.type === 'Ready')?.status).to.equal('True');
    // The same oversize result again (a later evaluation, new lastCheckTime): fitted, it equals what is stored.
    const again = await writeMonitorStatus(
      kc,
      await monitors.get(m.metadata.name),
      { ...status, lastCheckTime: new Date(Date.now() + 5000).toISOString() },
      { now: NOW(), heartbeatMs: 600_000 },
    );
    expect(again.written).to.equal(false);
  });

  it('writes Ready=False/StatusRejected with the API server message when the status still cannot be stored (never a stale True)', async () => {
    const m = await fresh('rejected');
    const good = await writeMonitorStatus(
      kc,
      m,
      { observedGeneration: 1, conditions: [cond('Ready', 'True', 'Reconciled'), cond('Healthy', 'True', 'AllComponentsHealthy')] },
      { now: NOW(), heartbeatMs: 600_000 },
    );
    expect(good.written).to.equal(true);
    const before = await monitors.get(m.metadata.name);
    expect(before.status?.conditions?.find((c) => c.type === 'Ready')?.status).to.equal('True');
    // A reason the schema's pattern forbids: cutting cannot fix it.
    const bad: KaiwoMonitorStatus = {
      observedGeneration: 1,
      conditions: [cond('Ready', 'True', 'Reconciled'), cond('KueueHealthy', 'False', 'not a valid reason!')],
    };
    const res = await writeMonitorStatus(kc, before, bad, { now: NOW(), heartbeatMs: 600_000 });
    expect(res.rejected).to.be.a('string').and.include('reason');
    const after = await monitors.get(m.metadata.name);
    const ready = after.status?.conditions?.find((c) => c.type === 'Ready');
    expect(ready).to.include({ status: 'False', reason: 'StatusRejected' });
    expect(ready?.message).to.include('rejected').and.include('reason');
    expect(ready?.message.length).to.be.at.most(1024);
    expect(after.status?.conditions?.find((c) => c.type === 'Healthy')).to.include({ status: 'Unknown', reason: 'StatusRejected' });
    expect(
      after.status?.conditions?.filter((c) => c.status === 'True').map((c) => c.type),
      'conditions still True',
    ).to.deep.equal([]);
    // Rejected again on the next evaluation: nothing new to write.
    const repeat = await writeMonitorStatus(kc, after, bad, { now: NOW(), heartbeatMs: 600_000 });
    expect(repeat.written).to.equal(false);
  });
});

describe('integration: the operator with hostile cluster content (a NotReady node with 10E GPUs, a 253-character monitor name)', function () {
  this.timeout(120_000);
  before(skipWithoutBackend);
  let kc: KubeConfig;
  let monitors: Monitors;
  let op: OperatorProcess;
  const node = uniqueName('gpu-10e');
  const name = `${uniqueName('long')}.${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}`.slice(0, 253);

  before(async () => {
    const cluster = await sharedCluster();
    kc = cluster.kubeConfig();
    monitors = new Monitors(kc);
    await rawJson(kc, { method: 'POST', path: '/api/v1/nodes', body: { apiVersion: 'v1', kind: 'Node', metadata: { name: node } } });
    await rawJson(kc, {
      method: 'PATCH',
      path: `/api/v1/nodes/${node}/status`,
      contentType: PatchStrategy.MergePatch,
      body: {
        status: {
          capacity: { 'amd.com/gpu': '10E' },
          allocatable: { 'amd.com/gpu': '10E' },
          conditions: [{ type: 'Ready', status: 'False', reason: 'KubeletNotReady', message: 'hostile test node' }],
        },
      },
    });
    op = await OperatorProcess.start(cluster.kubeconfigPath);
    await op.waitForLog((l) => l.msg === 'serving');
  });

  after(async () => {
    await op.stop();
    await monitors.delete(name);
    await rawJson(kc, { method: 'DELETE', path: `/api/v1/nodes/${node}` }).catch(() => undefined);
  });

  it('reports a node with 10E GPUs (10^19, beyond int64) with the count clamped, Ready=True, and emits its Warning Event for a 253-character name', async () => {
    expect(name.length).to.equal(253);
    await monitors.create(name, { operator: { enabled: false }, kueue: { enabled: false }, workloads: { enabled: false } });
    const m = await waitFor(
      'gpuNodes evaluated',
      async () => {
        const x = await monitors.get(name);
        const ready = x.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
        return ready && x.status?.summary?.gpuNodes?.counts?.gpusInstalled !== undefined ? x : undefined;
      },
      60_000,
    );
    expect(m.status?.summary?.gpuNodes?.counts?.gpusInstalled).to.equal(MAX_INT64_DOUBLE);
    const events = await waitFor(
      'an Event about the monitor',
      async () => {
        const list = await rawJson<{
          items: { metadata: { name: string }; involvedObject: { name: string }; reason: string; type: string }[];
        }>(kc, {
          method: 'GET',
          path: `/api/v1/namespaces/default/events?fieldSelector=${encodeURIComponent(`involvedObject.name=${name}`)}`,
        });
        return list.items.length ? list.items : undefined;
      },
      30_000,
    );
    for (const e of events) {
      expect(e.metadata.name.length).to.be.at.most(253);
      expect(e.involvedObject.name).to.equal(name);
    }
    expect(events.map((e) => e.type)).to.include('Warning'); // GPUNodesHealthy=False: the node is NotReady
    expect(op.lines.filter((l) => l.msg === 'failed to write event')).to.deep.equal([]);
    expect(op.exitCode).to.equal(null);
  });
});
