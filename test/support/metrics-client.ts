import { Agent, request } from 'node:https';
import { CoreV1Api, type KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { rawJson } from '../../src/runtime/rawrequest.js';
import { parsePrometheusText, sumOf } from '../../src/sources/promtext.js';
import { uniqueName } from './cluster.js';

export interface Scrape {
  status: number;
  body: string;
  retryAfter?: string;
}

/** GET /metrics on the operator's HTTPS port (self-signed: not verified), optionally with a bearer token. */
export function scrape(port: number, token?: string, agent?: Agent): Promise<Scrape> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/metrics',
        method: 'GET',
        rejectUnauthorized: false,
        timeout: 10_000,
        ...(agent ? { agent } : {}),
        headers: token ? { Authorization: `Bearer ${token}` } : {},
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => {
          const retry = res.headers['retry-after'];
          resolve({ status: res.statusCode ?? 0, body, ...(retry ? { retryAfter: retry } : {}) });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('scrape timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** Sum of a metric in a Prometheus text body over series whose labels include `labels` (0 when absent). */
export function metricIn(body: string, name: string, labels: Record<string, string> = {}): number {
  return sumOf(parsePrometheusText(body).samples, name, labels) ?? 0;
}

export async function serviceAccountToken(kc: KubeConfig, namespace: string, name: string): Promise<string> {
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
  const tr = await rawJson<{ status: { token: string } }>(kc, {
    method: 'POST',
    path: `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`,
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } },
  });
  return tr.status.token;
}

/**
 * Tokens of two ServiceAccounts in a fresh namespace: `allowed` may get /metrics (ClusterRole + binding),
 * `denied` has no RBAC. `cleanup` deletes the namespace and the cluster-scoped RBAC objects.
 */
export async function metricsTokens(
  kc: KubeConfig,
  prefix = 'scraper',
): Promise<{ allowed: string; denied: string; cleanup: () => Promise<void> }> {
  const ns = uniqueName(prefix);
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: ns } } });
  const allowed = await serviceAccountToken(kc, ns, 'prometheus');
  const denied = await serviceAccountToken(kc, ns, 'nobody');
  const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
  const role = `${ns}-metrics-reader`;
  await rbac.createClusterRole({ body: { metadata: { name: role }, rules: [{ nonResourceURLs: ['/metrics'], verbs: ['get'] }] } });
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name: role },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
      subjects: [{ kind: 'ServiceAccount', name: 'prometheus', namespace: ns }],
    },
  });
  return {
    allowed,
    denied,
    cleanup: async () => {
      await rbac.deleteClusterRoleBinding({ name: role }).catch(() => undefined);
      await rbac.deleteClusterRole({ name: role }).catch(() => undefined);
      await core.deleteNamespace({ name: ns }).catch(() => undefined);
    },
  };
}
