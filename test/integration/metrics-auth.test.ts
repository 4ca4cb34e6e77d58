import { expect } from 'chai';
import { request } from 'node:https';
import { CoreV1Api, type KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import type { Cluster } from '../../src/dev/backend.js';
import { rawJson } from '../../src/runtime/rawrequest.js';
import { sharedCluster, skipWithoutBackend, uniqueName } from '../support/cluster.js';
import { OperatorProcess } from '../support/operator.js';

function scrape(port: number, token?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1', port, path: '/metrics', method: 'GET', rejectUnauthorized: false, timeout: 10_000,
      headers: token ? { Authorization: `Bearer ${token}` } : {},
    }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body }); });
    });
    req.on('error', reject);
    req.end();
  });
}

async function serviceAccountToken(kc: KubeConfig, namespace: string, name: string): Promise<string> {
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
  const tr = await rawJson<{ status: { token: string } }>(kc, {
    method: 'POST', path: `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`,
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 600 } },
  });
  return tr.status.token;
}

describe('integration: secure metrics endpoint (TokenReview + SubjectAccessReview on the real API server)', function () {
  this.timeout(60_000);
  before(skipWithoutBackend);
  let cluster: Cluster;
  let op: OperatorProcess;
  let port: number;

  before(async () => {
    cluster = await sharedCluster();
    op = await OperatorProcess.start(cluster.kubeconfigPath, [], { metrics: true });
    await op.waitForLog((l) => l.msg === 'serving');
    port = op.metricsPort ?? 0;
  });

  after(async () => {
    await op.stop();
  });

  it('answers 401 without a token and for a token the API server does not know', async () => {
    expect((await scrape(port)).status).to.equal(401);
    expect((await scrape(port, 'not-a-token')).status).to.equal(401);
  });

  it('answers 403 for a ServiceAccount without RBAC, and 200 once it may get /metrics', async () => {
    const kc = cluster.kubeConfig();
    const ns = uniqueName('scraper');
    await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: ns } } });
    const allowed = await serviceAccountToken(kc, ns, 'prometheus');
    const denied = await serviceAccountToken(kc, ns, 'nobody');
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createClusterRole({ body: { metadata: { name: `${ns}-metrics-reader` }, rules: [{ nonResourceURLs: ['/metrics'], verbs: ['get'] }] } });
    await rbac.createClusterRoleBinding({ body: {
      metadata: { name: `${ns}-metrics-reader` },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `${ns}-metrics-reader` },
      subjects: [{ kind: 'ServiceAccount', name: 'prometheus', namespace: ns }],
    } });
    expect((await scrape(port, denied)).status).to.equal(403);
    const ok = await scrape(port, allowed);
    expect(ok.status).to.equal(200);
    for (const metric of ['controller_runtime_reconcile_total', 'controller_runtime_reconcile_time_seconds', 'workqueue_depth', 'leader_election_master_status', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes']) {
      expect(ok.body, metric).to.include(metric);
    }
  });
});
