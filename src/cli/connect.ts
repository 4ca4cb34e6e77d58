import type { KubeConfig } from '../runtime/kubeconfig.js';
import { rawJson } from '../runtime/rawrequest.js';

export interface ServerInfo {
  server: string;
  gitVersion: string;
}

/** Asks the API server for /version (over the one transport: its deadline ends the request), with a one-line reason. */
export async function serverInfo(kc: KubeConfig, timeoutMs = 10_000): Promise<ServerInfo> {
  const server = kc.getCurrentCluster()?.server ?? '(none)';
  try {
    const v = await rawJson<{ gitVersion?: unknown } | null>(kc, { method: 'GET', path: '/version', timeoutMs, maxBytes: 64 * 1024 });
    return { server, gitVersion: typeof v?.gitVersion === 'string' ? v.gitVersion : 'unknown' };
  } catch (err) {
    throw new Error(`cannot connect to the Kubernetes API server at ${server}: ${describe(err)}`, { cause: err });
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as Error & { cause?: unknown }).cause;
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'number') return `HTTP ${code}`;
    if (cause instanceof Error) return `${err.message} (${cause.message})`;
    return err.message;
  }
  return String(err);
}
