import type { KaiwoMonitorSpec } from '../api/types.js';
import { checksFor } from '../checks/registry.js';
import type { BoundCheck, ScrapeView, SourceView } from '../checks/types.js';
import type { VersionDiscovery } from '../runtime/discovery.js';
import type { ScrapeManager } from './scrapes.js';
import type { SourceManager } from './sources.js';
import type { ComponentOutcome } from './status.js';

/** The registered checks bound to a spec, reading Kueue at the API version the server stores. */
export async function checksForCluster(spec: KaiwoMonitorSpec, discovery: VersionDiscovery): Promise<BoundCheck[]> {
  const kueueVersion = spec.kueue.enabled ? await discovery.version('kueue.x-k8s.io', 'clusterqueues.kueue.x-k8s.io') : undefined;
  return checksFor(spec, kueueVersion ? { kueueVersion } : {});
}

/**
 * Runs every enabled check on the current caches and scrapes. A check that throws (a bug, or input it did not
 * expect) becomes an error outcome — reported as CheckFailed — and never stops the others.
 */
export function runChecks(checks: BoundCheck[], sources: SourceManager, scrapes: ScrapeManager, now: Date, onError?: (check: BoundCheck, message: string) => void): ComponentOutcome[] {
  return checks.map((check) => {
    if (!check.enabled) return { component: check.component, enabled: false };
    try {
      const data: Record<string, SourceView> = {};
      for (const [k, s] of Object.entries(check.sources)) data[k] = sources.view(s);
      const scraped: Record<string, ScrapeView> = {};
      for (const [k, s] of Object.entries(check.scrapes)) scraped[k] = scrapes.view(s);
      return { component: check.component, enabled: true, result: check.evaluate(data, scraped, now) };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      onError?.(check, message);
      return { component: check.component, enabled: true, error: message };
    }
  });
}
