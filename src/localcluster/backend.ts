import { ApiextensionsV1Api, KubeConfig, VersionApi } from '@kubernetes/client-node';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalControlPlane } from './controlplane.js';
import { type CrdSet, type RawCrd, installCrds, kaiwoCrds, kueueCrds, ownCrds } from './crds.js';

/** Which cluster tests and the demo run against: KAIWO_MONITOR_TEST_BACKEND = local (default) | kubeconfig | k3s. */
export type Backend = 'local' | 'kubeconfig' | 'k3s';

export function selectedBackend(env: NodeJS.ProcessEnv = process.env): Backend {
  const raw = (env.KAIWO_MONITOR_TEST_BACKEND ?? 'local').trim();
  if (raw === 'local' || raw === 'kubeconfig' || raw === 'k3s') return raw;
  throw new Error(`KAIWO_MONITOR_TEST_BACKEND=${raw}: expected one of local, kubeconfig, k3s`);
}

export interface ClusterOptions {
  backend?: Backend;
  /** Kueue CRD version to install (default hack/versions.env KUEUE_VERSION). */
  kueueVersion?: string;
  /** Kaiwo release whose CRDs to install (default hack/versions.env KAIWO_VERSION). */
  kaiwoVersion?: string;
  log?: (msg: string) => void;
  /** Passed to the local control plane. */
  apiServerFlags?: string[];
}

export interface Cluster {
  backend: Backend;
  /** Human description for logs, e.g. "local control plane (kube-apiserver v1.36.3)". */
  description: string;
  serverVersion: string;
  kubeconfigPath: string;
  kubeConfig(): KubeConfig;
  /** The local control plane when backend is local (restart the apiserver, mint token kubeconfigs). */
  local?: LocalControlPlane;
  crdSets: CrdSet[];
  startupMs: number;
  stop(): Promise<void>;
}

/** Thrown when the requested backend cannot run here (e.g. no container engine for k3s). */
export class BackendUnavailable extends Error {}

async function serverVersion(kc: KubeConfig): Promise<string> {
  return (await kc.makeApiClient(VersionApi).getCode()).gitVersion;
}

/** On a cluster we did not create, install only the CRDs that are missing: never replace someone's Kueue. */
async function missingOnly(kc: KubeConfig, crds: RawCrd[]): Promise<RawCrd[]> {
  const ext = kc.makeApiClient(ApiextensionsV1Api);
  const existing = new Set((await ext.listCustomResourceDefinition()).items.map((c) => c.metadata?.name));
  return crds.filter((c) => !existing.has(c.metadata.name));
}

async function startK3s(log: (m: string) => void): Promise<{ kubeconfig: string; stop: () => Promise<void> }> {
  const tc = await import('testcontainers');
  try {
    await tc.getContainerRuntimeClient();
  } catch (err) {
    throw new BackendUnavailable(`k3s backend needs a container engine: ${(err as Error).message}`);
  }
  const { K3sContainer } = await import('@testcontainers/k3s');
  log('starting a K3s container (rancher/k3s:v1.36.2-k3s1)');
  const container = await new K3sContainer('rancher/k3s:v1.36.2-k3s1').start();
  return {
    kubeconfig: container.getKubeConfig(),
    stop: async () => {
      await container.stop();
    },
  };
}

/**
 * Starts (or connects to) the selected cluster and installs this project's CRDs plus Kueue's and Kaiwo's.
 */
export async function startCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const backend = opts.backend ?? selectedBackend();
  const log = opts.log ?? (() => undefined);
  const t0 = Date.now();
  const sets = await Promise.all([ownCrds(), kueueCrds(opts.kueueVersion), kaiwoCrds(opts.kaiwoVersion)]);
  const all = sets.flatMap((s) => s.crds);

  if (backend === 'local') {
    const local = new LocalControlPlane({ log, apiServerFlags: opts.apiServerFlags });
    await local.start();
    try {
      await installCrds(local.kubeConfig(), all);
    } catch (err) {
      await local.stop();
      throw err;
    }
    return {
      backend,
      local,
      crdSets: sets,
      serverVersion: local.serverVersion,
      kubeconfigPath: local.kubeconfigPath,
      description: `local control plane (kube-apiserver ${local.serverVersion}, etcd, built from Go modules)`,
      kubeConfig: () => local.kubeConfig(),
      startupMs: Date.now() - t0,
      stop: () => local.stop(),
    };
  }

  let kubeconfigText: string;
  let stopBackend: () => Promise<void> = () => Promise.resolve();
  let description: string;
  if (backend === 'k3s') {
    const k3s = await startK3s(log);
    kubeconfigText = k3s.kubeconfig;
    stopBackend = k3s.stop;
    description = 'K3s container (testcontainers)';
  } else {
    const kc = new KubeConfig();
    kc.loadFromDefault();
    kubeconfigText = kc.exportConfig();
    description = `existing cluster from KUBECONFIG (context ${kc.getCurrentContext()})`;
  }
  const dir = mkdtempSync(join(tmpdir(), 'kaiwo-monitor-kc-'));
  const kubeconfigPath = join(dir, 'kubeconfig');
  writeFileSync(kubeconfigPath, kubeconfigText, { mode: 0o600 });
  const kubeConfig = () => {
    const kc = new KubeConfig();
    kc.loadFromString(kubeconfigText);
    return kc;
  };
  await installCrds(kubeConfig(), await missingOnly(kubeConfig(), all));
  const version = await serverVersion(kubeConfig());
  return {
    backend,
    crdSets: sets,
    serverVersion: version,
    kubeconfigPath,
    kubeConfig,
    startupMs: Date.now() - t0,
    description: `${description}, Kubernetes ${version}`,
    stop: async () => {
      await stopBackend();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
