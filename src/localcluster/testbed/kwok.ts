import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { LocalControlPlane } from '../controlplane.js';
import { goModuleDir } from '../gomod.js';
import { freePort } from '../ports.js';
import { ManagedProcess } from '../process.js';
import { pinned } from '../versions.js';
import { componentKubeconfig } from './kube.js';
import { issueServing } from './pki.js';
import { kwokStages } from './stages.js';

/** Annotation kwok selects the nodes it runs by; another value stops their heartbeat. */
export const KWOK_NODE_ANNOTATION = 'kwok.x-k8s.io/node';
/** Pod IPs kwok hands out: loopback addresses, so even a stray dial cannot leave the machine. */
export const POD_CIDR = '127.244.0.0/16';
/** kwok renews each node's Lease every quarter of this. */
export const NODE_LEASE_SECONDS = 8;

export interface KwokOptions {
  /** Restart interval of the CrashLoopBackOff stage. */
  crashLoopEveryMs?: number;
  /** Container logs served for `kubectl logs`, by namespace: the file behind every pod of that namespace. */
  logs?: Record<string, string>;
}

/**
 * The kwok controller (not kwokctl) against the local API server: it runs the nodes annotated
 * kwok.x-k8s.io/node=fake (their status, heartbeat Leases) and the lifecycle of pods bound to them, through the
 * stages in stages.ts. Its kubelet-like server (logs) listens on 127.0.0.1 and every node's InternalIP is
 * 127.0.0.1, so `kubectl logs` goes API server → 127.0.0.1.
 */
export async function kwokController(cp: LocalControlPlane, bin: string, opts: KwokOptions = {}): Promise<ManagedProcess> {
  const kubeconfig = await componentKubeconfig(cp, 'kwok', 'kwok-controller', ['system:masters']);
  const moduleDir = await goModuleDir('sigs.k8s.io/kwok', pinned('KWOK_VERSION'));
  const stages = await kwokStages(moduleDir, opts.crashLoopEveryMs ?? 3000);
  const clusterLogs = Object.entries(opts.logs ?? {}).map(([namespace, file]) => ({
    apiVersion: 'kwok.x-k8s.io/v1alpha1',
    kind: 'ClusterLogs',
    metadata: { name: `logs-${namespace}` },
    spec: { selector: { matchNamespaces: [namespace] }, logs: [{ logsFile: file, follow: true }] },
  }));
  const dir = join(cp.dir, 'kwok');
  await mkdir(dir, { recursive: true });
  const config = join(dir, 'kwok.yaml');
  await writeFile(config, [...stages, ...clusterLogs].map((d) => stringify(d)).join('---\n'));
  const serving = await issueServing(join(cp.dir, 'pki'), 'kwok-serving', 'kwok');
  const port = await freePort();
  return new ManagedProcess(
    'kwok',
    join(bin, 'kwok'),
    [
      `--kubeconfig=${kubeconfig}`,
      `--config=${config}`,
      `--manage-nodes-with-annotation-selector=${KWOK_NODE_ANNOTATION}=fake`,
      `--cidr=${POD_CIDR}`,
      '--node-ip=127.0.0.1',
      `--node-port=${port}`,
      `--server-address=127.0.0.1:${port}`,
      `--tls-cert-file=${serving.certFile}`,
      `--tls-private-key-file=${serving.keyFile}`,
      `--node-lease-duration-seconds=${NODE_LEASE_SECONDS}`,
    ],
    join(cp.dir, 'kwok.log'),
  );
}
