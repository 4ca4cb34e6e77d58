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

/** Parts built from their Go modules by hack/build-tool.sh, each cached by version. */
export type Tool = 'kube' | 'kwok' | 'kueue' | 'kueue-legacy' | 'kaiwo' | 'kaiwo-next' | 'prometheus' | 'helm' | 'gitops';

const built = new Map<Tool, Promise<string>>();

/**
 * Directory of a tool's binaries, building it on first use (minutes the first time: the log says so), then from
 * ~/.cache/kaiwo-monitor/<tool>/<version>/bin.
 */
export function toolBinDir(tool: Tool, log: (m: string) => void = () => undefined): Promise<string> {
  let dir = built.get(tool);
  if (!dir) {
    dir = (async () => {
      const started = Date.now();
      const { stdout, stderr } = await run('bash', [join(repoRoot, 'hack', 'build-tool.sh'), tool], { maxBuffer: 64 * 1024 * 1024 });
      if (!stderr.includes('cached:')) log(`built ${tool} in ${((Date.now() - started) / 1000).toFixed(0)}s`);
      return stdout.trim().split('\n').pop() ?? '';
    })();
    dir.catch(() => built.delete(tool));
    built.set(tool, dir);
  }
  return dir;
}

/** One binary of a tool (see toolBinDir). */
export async function toolBinary(tool: Tool, name: string = tool): Promise<string> {
  return join(await toolBinDir(tool), name);
}
