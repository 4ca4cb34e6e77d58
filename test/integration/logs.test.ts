import { expect } from 'chai';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { managerRules } from '../../src/checks/registry.js';
import { repoRoot } from '../../src/localcluster/paths.js';
import type { KaiwoMonitor } from '../../src/api/types.js';
import type { Cluster } from '../../src/localcluster/backend.js';
import { Monitors } from '../support/fakes/monitors.js';
import { MonitorRecorder } from '../support/fakes/scenarios.js';
import { rawJson } from '../../src/runtime/rawrequest.js';
import { localControlPlane, sharedCluster, skipWithoutBackend, uniqueName } from '../support/cluster.js';
import { FakeKubelet } from '../support/fake-kubelet.js';
import { OperatorProcess } from '../support/operator.js';
import { waitFor } from '../support/wait.js';

const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2EifQ.c2lnbmF0dXJlLXNlY3JldA';
const reconcileError = (name: string) =>
  JSON.stringify({
    level: 'error',
    ts: Date.now() / 1000,
    logger: 'controller.kaiwojob',
    msg: 'Reconciler error',
    controller: 'kaiwojob',
    controllerGroup: 'kaiwo.silogen.ai',
    controllerKind: 'KaiwoJob',
    KaiwoJob: { name, namespace: 'ml' },
    namespace: 'ml',
    name,
    reconcileID: 'r1',
    error: `Put "https://kueue-webhook-service.kueue-system.svc:443/mutate": Authorization: Bearer ${TOKEN} rejected`,
  });
const reconcileCount = (m: KaiwoMonitor) => m.status?.summary?.logs?.counts?.reconcileErrors;

describe('integration: operator logs through the API server (pods/log proxied to a loopback kubelet)', function () {
  this.timeout(180_000);
  before(skipWithoutBackend);
  let cluster: Cluster;
  let kc: KubeConfig;
  let kubelet: FakeKubelet;
  let op: OperatorProcess;
  let recorder: MonitorRecorder;
  const monitors = () => new Monitors(kc);
  const ns = uniqueName('logs');
  const node = uniqueName('fake-kubelet');
  const pod = 'kaiwo-controller-manager-0';
  const monitor = uniqueName('logs');

  before(async function () {
    await localControlPlane(this); // the API server must reach the kubelet on 127.0.0.1
    cluster = await sharedCluster();
    kc = cluster.kubeConfig();
    kubelet = await FakeKubelet.start();
    await kubelet.registerNode(kc, node);
    await rawJson(kc, { method: 'POST', path: '/api/v1/namespaces', body: { metadata: { name: ns } } });
    await rawJson(kc, {
      method: 'POST',
      path: `/api/v1/namespaces/${ns}/pods`,
      body: {
        metadata: { name: pod, labels: { app: 'fake-kaiwo' } },
        spec: { nodeName: node, containers: [{ name: 'manager', image: 'silogen/kaiwo-operator:v0.1.9' }] },
      },
    });
    await rawJson(kc, {
      method: 'PATCH',
      path: `/api/v1/namespaces/${ns}/pods/${pod}/status`,
      contentType: 'application/merge-patch+json',
      body: { status: { phase: 'Running' } },
    });
    kubelet.append(
      ns,
      pod,
      'manager',
      JSON.stringify({ level: 'info', ts: Date.now() / 1000, msg: 'Starting workers', controller: 'kaiwojob', 'worker count': 1 }),
    );
    await monitors().create(monitor, {
      operator: { enabled: false },
      kueue: { enabled: false },
      gpuNodes: { enabled: false },
      workloads: { enabled: false },
      capacity: { enabled: false },
      logs: {
        enabled: true,
        window: '10s',
        maxReconcileErrorsPerMinute: 5,
        operator: { namespace: ns, podSelector: { matchLabels: { app: 'fake-kaiwo' } } },
      },
    });
    recorder = new MonitorRecorder(kc, monitor);
    recorder.start();
    op = await OperatorProcess.start(cluster.kubeconfigPath);
  });

  after(async () => {
    await op.stop();
    await recorder.stop();
    await monitors().delete(monitor);
    await kubelet.close();
    await rawJson(kc, { method: 'DELETE', path: `/api/v1/namespaces/${ns}/pods/${pod}?gracePeriodSeconds=0` }).catch(() => undefined);
    await rawJson(kc, { method: 'DELETE', path: `/api/v1/nodes/${node}` }).catch(() => undefined);
  });

  it('follows the container, finds a Reconciler error burst with the controller, object and a redacted message, and recovers when it stops', async () => {
    const ok = await recorder.when('OperatorLogsHealthy', 'True', 0, 60_000).catch((err: unknown) => {
      throw new Error(
        `${String(err)}; last: ${JSON.stringify(recorder.seen.at(-1)?.conditions.find((c) => c.type === 'OperatorLogsHealthy'))}; kubelet requests: ${kubelet.requests.length}`,
      );
    });
    expect(ok.condition.message).to.include('1 log streams: 0 error lines');
    const first = kubelet.requests[0];
    expect(first?.pathname).to.equal(`/containerLogs/${ns}/${pod}/manager`);
    expect(Object.fromEntries(first?.searchParams ?? [])).to.include({ follow: 'true', timestamps: 'true', sinceSeconds: '10' });

    const t0 = Date.now();
    for (let i = 0; i < 20; i++) kubelet.append(ns, pod, 'manager', reconcileError(`train-${i}`));
    const hit = await recorder.when('OperatorLogsHealthy', 'False', t0, 15_000);
    expect(hit.condition.reason).to.equal('ReconcilerErrors');
    expect(hit.at - t0, 'detected within 5 s').to.be.below(5000);
    expect(hit.condition.message)
      .to.include('"Reconciler error" lines from controller kaiwojob in the last 10s')
      .and.include(`last (pod ${pod}): controller kaiwojob, KaiwoJob ml/train-19: Reconciler error: Put`)
      .and.include('Authorization: [REDACTED]');
    expect(JSON.stringify(hit.monitor.status)).not.to.include(TOKEN);
    const finding = hit.monitor.status?.findings?.find((f) => f.reason === 'ReconcilerErrors');
    expect(finding?.object).to.deep.equal({ kind: 'KaiwoJob', namespace: 'ml', name: 'train-19' });

    // A dropped stream is reopened from its last line: nothing is counted twice, new lines still arrive.
    const requestsBefore = kubelet.requests.length;
    kubelet.dropConnections();
    await waitFor(
      'a reconnect from the last line',
      () => kubelet.requests.slice(requestsBefore).find((u) => u.searchParams.has('sinceTime')),
      15_000,
      50,
    );
    await waitFor('following again', () => kubelet.following === 1, 15_000, 50);
    kubelet.append(ns, pod, 'manager', reconcileError('train-20'));
    const after = await waitFor(
      '21 Reconciler errors counted',
      () => recorder.seen.find((s) => s.at > t0 && reconcileCount(s.monitor) === 21),
      15_000,
      50,
    );
    expect(
      recorder.seen
        .filter((s) => s.at > t0)
        .map((s) => reconcileCount(s.monitor) ?? 0)
        .filter((n) => n > 21),
      'counts above 21 (a line counted twice)',
    ).to.deep.equal([]);
    expect(after.monitor.status?.summary?.logs?.counts?.streams).to.equal(1);

    // No new errors: the burst leaves the 10 s window and the component recovers without any new line.
    const healed = await recorder.when('OperatorLogsHealthy', 'True', Date.now(), 30_000);
    expect(healed.condition.reason).to.equal('OperatorLogsHealthy');
    expect(healed.at - t0).to.be.at.least(10_000);
  });

  it("with only the generated ClusterRole it may not read logs (LogsForbidden); config/rbac/logs_role.yaml's Role in the namespace allows it", async function () {
    const local = await localControlPlane(this);
    await op.stop();
    const sa = 'kaiwo-monitor-logs';
    const role = `${monitor}-manager`;
    await rawJson(kc, { method: 'POST', path: `/api/v1/namespaces/${ns}/serviceaccounts`, body: { metadata: { name: sa } } });
    await rawJson(kc, {
      method: 'POST',
      path: '/apis/rbac.authorization.k8s.io/v1/clusterroles',
      body: { metadata: { name: role }, rules: managerRules() },
    });
    await rawJson(kc, {
      method: 'POST',
      path: '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
      body: {
        metadata: { name: role },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
        subjects: [{ kind: 'ServiceAccount', name: sa, namespace: ns }],
      },
    });
    const tr = await rawJson<{ status: { token: string } }>(kc, {
      method: 'POST',
      path: `/api/v1/namespaces/${ns}/serviceaccounts/${sa}/token`,
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } },
    });
    const kubeconfig = join(mkdtempSync(join(tmpdir(), 'kaiwo-monitor-logs-')), 'kubeconfig');
    writeFileSync(kubeconfig, local.tokenKubeconfigYaml(tr.status.token, sa), { mode: 0o600 });
    const t0 = Date.now();
    op = await OperatorProcess.start(kubeconfig);
    const denied = await recorder.when('OperatorLogsHealthy', 'Unknown', t0, 60_000);
    expect(denied.condition.reason).to.equal('LogsForbidden');
    expect(denied.condition.message).to.include(`not allowed to read pod logs in ${ns}`);

    // The Role and RoleBinding of config/rbac/logs_role.yaml, in this namespace and for this ServiceAccount.
    const docs = parseAllDocuments(readFileSync(join(repoRoot, 'config/rbac/logs_role.yaml'), 'utf8')).map(
      (d) => d.toJS() as Record<string, unknown>,
    );
    const [r, b] = docs as [{ metadata: Record<string, unknown>; rules: unknown }, { metadata: Record<string, unknown>; roleRef: unknown }];
    await rawJson(kc, {
      method: 'POST',
      path: `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`,
      body: { ...r, metadata: { ...r.metadata, namespace: ns } },
    });
    await rawJson(kc, {
      method: 'POST',
      path: `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`,
      body: { ...b, metadata: { ...b.metadata, namespace: ns }, subjects: [{ kind: 'ServiceAccount', name: sa, namespace: ns }] },
    });
    const t1 = Date.now();
    const allowed = await recorder.when('OperatorLogsHealthy', 'True', t1, 60_000).catch((err: unknown) => {
      const last = recorder.seen.at(-1)?.conditions.find((c) => c.type === 'OperatorLogsHealthy');
      throw new Error(
        `${String(err)}; last: ${JSON.stringify(last)}; operator: ${op.raw
          .slice(-12)
          .map((l) => l.slice(0, 400))
          .join('\n')}`,
      );
    });
    expect(allowed.condition.message).to.include('1 log streams');
    await rawJson(kc, { method: 'DELETE', path: `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${role}` }).catch(() => undefined);
    await rawJson(kc, { method: 'DELETE', path: `/apis/rbac.authorization.k8s.io/v1/clusterroles/${role}` }).catch(() => undefined);
  });
});
