import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from './paths.js';

const run = promisify(execFile);

export interface ControlPlaneBinaries {
  kubeApiServer: string;
  etcd: string;
  /** Where they came from, for logs: "KUBEBUILDER_ASSETS", "TEST_ASSET_*" or "cache". */
  source: string;
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Binaries a user already has, following controller-runtime envtest's conventions: TEST_ASSET_KUBE_APISERVER /
 * TEST_ASSET_ETCD per binary, else the directory in KUBEBUILDER_ASSETS. Undefined when neither is set.
 */
export function binariesFromEnv(env: NodeJS.ProcessEnv = process.env): ControlPlaneBinaries | undefined {
  const dir = env.KUBEBUILDER_ASSETS;
  const apiserver = env.TEST_ASSET_KUBE_APISERVER ?? (dir ? join(dir, 'kube-apiserver') : undefined);
  const etcd = env.TEST_ASSET_ETCD ?? (dir ? join(dir, 'etcd') : undefined);
  if (!apiserver || !etcd) return undefined;
  for (const p of [apiserver, etcd]) {
    if (!executable(p)) throw new Error(`control-plane binary ${p} (from KUBEBUILDER_ASSETS/TEST_ASSET_*) is missing or not executable`);
  }
  const source = env.TEST_ASSET_KUBE_APISERVER || env.TEST_ASSET_ETCD ? 'TEST_ASSET_*' : 'KUBEBUILDER_ASSETS';
  return { kubeApiServer: apiserver, etcd, source };
}

/**
 * Resolves kube-apiserver and etcd: the user's envtest assets if given, else the versioned cache, building it
 * from Go modules with hack/controlplane/build.sh when missing (minutes the first time, instant afterwards).
 */
export async function resolveBinaries(log: (msg: string) => void = () => undefined): Promise<ControlPlaneBinaries> {
  const fromEnv = binariesFromEnv();
  if (fromEnv) return fromEnv;
  const script = join(repoRoot, 'hack', 'controlplane', 'build.sh');
  const probe = await run('bash', [script, '--bin-dir']);
  const dir = probe.stdout.trim();
  const wanted = { kubeApiServer: join(dir, 'kube-apiserver'), etcd: join(dir, 'etcd'), source: 'cache' };
  if (executable(wanted.kubeApiServer) && executable(wanted.etcd)) return wanted;
  log(`building control-plane binaries into ${dir} (first run only; takes several minutes)`);
  const started = Date.now();
  await run('bash', [script], { maxBuffer: 64 * 1024 * 1024 });
  log(`control-plane binaries built in ${((Date.now() - started) / 1000).toFixed(0)}s`);
  return wanted;
}

/** A tool built from its Go module by hack/build-tool.sh (built on first use, then cached by version). */
export async function toolBinary(tool: 'prometheus' | 'helm' | 'gitops', name: string = tool): Promise<string> {
  const { stdout } = await run('bash', [join(repoRoot, 'hack', 'build-tool.sh'), tool], { maxBuffer: 64 * 1024 * 1024 });
  return join(stdout.trim().split('\n').pop() ?? '', name);
}
