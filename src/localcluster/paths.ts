import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Root of the repository checkout (src/localcluster/ is two levels below it). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Cache for heavy builds and cluster state, outside the repo: $KAIWO_MONITOR_CACHE or ~/.cache/kaiwo-monitor. */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.KAIWO_MONITOR_CACHE) return env.KAIWO_MONITOR_CACHE;
  return join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'kaiwo-monitor');
}
