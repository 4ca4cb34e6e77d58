import type { KubeConfig } from '@kubernetes/client-node';
import { apply, serviceAccountToken } from './apply.js';
import { b64 } from './pki.js';
import type { Manifest } from './kustomize.js';
import type { TestBed } from './testbed.js';

const NS = 'kaiwo-monitor-system';
const SA = 'kaiwo-monitor-scraper';

/**
 * A ServiceAccount allowed to scrape both controllers through their own upstream ClusterRoles
 * (kaiwo-metrics-reader, kueue-metrics-reader), with its token in Secret kaiwo-monitor-system/metrics-token.
 */
export async function scraperSecret(kc: KubeConfig): Promise<{ namespace: string; name: string; key: string }> {
  const binding = (role: string): Manifest => ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: `${SA}-${role}` },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
    subjects: [{ kind: 'ServiceAccount', name: SA, namespace: NS }],
  });
  await apply(kc, [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: SA, namespace: NS } },
    binding('kaiwo-metrics-reader'),
    binding('kueue-metrics-reader'),
  ]);
  const token = await serviceAccountToken(kc, NS, SA);
  await apply(kc, [
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'metrics-token', namespace: NS }, type: 'Opaque', data: { token: b64(token) } },
  ]);
  return { namespace: NS, name: 'metrics-token', key: 'token' };
}

/**
 * The KaiwoMonitor spec for the test bed: the standard install names (spec defaults), both controllers' metrics
 * through their loopback Services every second, short pending thresholds; lease grace and restart thresholds are
 * the defaults unless given.
 */
export function testBedMonitorSpec(
  tb: TestBed,
  secretRef: { namespace: string; name: string; key: string },
  extra: { maxPendingAge?: string } = {},
): Record<string, unknown> {
  const metrics = (url: string) => ({
    enabled: true,
    url,
    interval: '1s',
    timeout: '900ms',
    tls: { insecureSkipVerify: true },
    bearerToken: { source: 'Secret', secretRef },
  });
  return {
    interval: '5s',
    operator: { restartWindow: '1m', maxRestarts: 2, metrics: metrics(tb.kaiwo.metricsUrl) },
    kueue: {
      maxPendingAge: extra.maxPendingAge ?? '10s',
      restartWindow: '1m',
      metrics: { ...metrics(tb.kueue.metricsUrl), maxInadmissibleAttemptsPerMinute: 1000 },
    },
    workloads: { maxPendingDuration: '10m' },
  };
}
