import { BackendUnavailable, type Cluster, startCluster } from '../../src/localcluster/backend.js';
import type { LocalControlPlane } from '../../src/localcluster/controlplane.js';

let shared: Promise<Cluster> | undefined;

const log = (m: string) => process.stderr.write(`      [cluster] ${m}\n`);

/**
 * The integration tests' cluster, started once per mocha run on first use and stopped by the root hook in
 * hooks.ts. Prints which backend and Kubernetes version the tests run against.
 */
export function sharedCluster(): Promise<Cluster> {
  shared ??= startCluster({ log }).then((c) => {
    const crds = c.crdSets.map((s) => `${s.name} (${s.crds.length})`).join(', ');
    process.stderr.write(
      `\n  integration backend: ${c.backend} — ${c.description}; server ${c.serverVersion}; ` +
        `Node ${process.version}; ready in ${(c.startupMs / 1000).toFixed(1)}s; CRDs: ${crds}\n\n`,
    );
    return c;
  });
  return shared;
}

export async function stopSharedCluster(): Promise<void> {
  if (!shared) return;
  const c = await shared.catch(() => undefined);
  shared = undefined;
  await c?.stop();
}

/** A unique, DNS-safe name for objects a test creates. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`;
}

let skipNoted = false;

/**
 * First hook of every integration suite: starts the shared cluster, or skips the suite with a one-line reason
 * when the selected backend cannot run here (KAIWO_MONITOR_TEST_BACKEND=k3s without a container engine).
 */
export async function skipWithoutBackend(this: Mocha.Context): Promise<void> {
  try {
    await sharedCluster();
  } catch (err) {
    if (!(err instanceof BackendUnavailable)) throw err;
    if (!skipNoted) process.stderr.write(`\n  integration suites skipped: ${err.message}\n\n`);
    skipNoted = true;
    this.skip();
  }
}

/**
 * The shared cluster's local control plane, for tests that control the API server process or check the
 * binaries we build; on another backend (kubeconfig, k3s) the test is skipped with that reason.
 */
export async function localControlPlane(ctx: Mocha.Context): Promise<LocalControlPlane> {
  const c = await sharedCluster();
  if (!c.local) {
    process.stderr.write(`      skipped on the ${c.backend} backend: needs the local control plane\n`);
    ctx.skip();
  }
  return c.local;
}
