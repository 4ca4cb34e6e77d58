import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LocalControlPlane } from '../controlplane.js';
import { ManagedProcess } from '../process.js';
import { b64, issueClient } from './pki.js';

/** Seconds kube-controller-manager waits for a node's heartbeat (its kwok Lease) before it marks the node NotReady. */
export const NODE_MONITOR_GRACE_SECONDS = 10;

/** Writes a kubeconfig for `user` with a client certificate from the control plane's CA; returns its path. */
export async function componentKubeconfig(cp: LocalControlPlane, name: string, user: string, groups: string[] = []): Promise<string> {
  const pkiDir = join(cp.dir, 'pki');
  const c = await issueClient(pkiDir, name, user, groups);
  const path = join(cp.dir, `${name}.kubeconfig`);
  await writeFile(path, cp.kubeconfigYaml({ name, user: { 'client-certificate-data': b64(c.cert), 'client-key-data': b64(c.key) } }), {
    mode: 0o600,
  });
  return path;
}

/**
 * kube-controller-manager as system:kube-controller-manager (bootstrap RBAC), signing ServiceAccount tokens with
 * the API server's key and publishing its CA as kube-root-ca.crt. No HTTPS listener (--secure-port=0). The
 * Endpoints/EndpointSlice controllers are off: kwok pod IPs are loopback addresses (nothing may dial anywhere
 * else), which EndpointSlices reject; nothing on the test bed routes through Services.
 */
export async function controllerManager(cp: LocalControlPlane, bin: string): Promise<ManagedProcess> {
  const kubeconfig = await componentKubeconfig(cp, 'kube-controller-manager', 'system:kube-controller-manager');
  const pki = join(cp.dir, 'pki');
  return new ManagedProcess(
    'kube-controller-manager',
    join(bin, 'kube-controller-manager'),
    [
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      '--leader-elect=false',
      '--bind-address=127.0.0.1',
      '--secure-port=0',
      // Each controller acts as its own ServiceAccount in kube-system (system:controller:*), as kubeadm sets it up.
      '--use-service-account-credentials=true',
      `--service-account-private-key-file=${join(pki, 'sa.key')}`,
      `--root-ca-file=${join(pki, 'ca.crt')}`,
      '--controllers=*,-endpoints-controller,-endpointslice-controller,-endpointslice-mirroring-controller',
      '--node-monitor-period=1s',
      `--node-monitor-grace-period=${NODE_MONITOR_GRACE_SECONDS}s`,
      '--kube-api-qps=200',
      '--kube-api-burst=400',
      '--v=1',
    ],
    join(cp.dir, 'kube-controller-manager.log'),
  );
}

/**
 * kube-scheduler as system:kube-scheduler with two profiles: `default-scheduler` and `kaiwo-scheduler` (the
 * scheduler name Kaiwo's pods use; upstream runs a second kube-scheduler Deployment for it).
 */
export async function scheduler(cp: LocalControlPlane, bin: string): Promise<ManagedProcess> {
  const kubeconfig = await componentKubeconfig(cp, 'kube-scheduler', 'system:kube-scheduler');
  const config = join(cp.dir, 'kube-scheduler.yaml');
  await writeFile(
    config,
    JSON.stringify(
      {
        apiVersion: 'kubescheduler.config.k8s.io/v1',
        kind: 'KubeSchedulerConfiguration',
        clientConnection: { kubeconfig, qps: 200, burst: 400 },
        leaderElection: { leaderElect: false },
        profiles: [{ schedulerName: 'default-scheduler' }, { schedulerName: 'kaiwo-scheduler' }],
      },
      null,
      2,
    ),
  );
  return new ManagedProcess(
    'kube-scheduler',
    join(bin, 'kube-scheduler'),
    [
      `--config=${config}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      '--bind-address=127.0.0.1',
      '--secure-port=0',
      '--v=1',
    ],
    join(cp.dir, 'kube-scheduler.log'),
  );
}
