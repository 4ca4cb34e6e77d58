import { VersionApi, type KubeConfig } from '@kubernetes/client-node';

export interface ServerInfo {
  server: string;
  gitVersion: string;
}

/** Asks the API server for /version, failing with a one-line reason after `timeoutMs`. */
export async function serverInfo(kc: KubeConfig, timeoutMs = 10_000): Promise<ServerInfo> {
  const server = kc.getCurrentCluster()?.server ?? '(none)';
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`no answer within ${timeoutMs / 1000}s`));
    }, timeoutMs);
  });
  try {
    const v = await Promise.race([kc.makeApiClient(VersionApi).getCode(), timeout]);
    return { server, gitVersion: v.gitVersion };
  } catch (err) {
    throw new Error(`cannot connect to the Kubernetes API server at ${server}: ${describe(err)}`, { cause: err });
  } finally {
    clearTimeout(timer);
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
