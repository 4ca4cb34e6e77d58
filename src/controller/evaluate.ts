import { checksFor, discoverEnv } from '../checks/registry.js';
import type { BoundCheck, LogView, ScrapeView, SourceView } from '../checks/types.js';
import type { VersionDiscovery } from '../runtime/discovery.js';
import type { LogManager } from './logs.js';
import type { ScrapeManager } from './scrapes.js';
import type { SourceManager } from './sources.js';
import type { ComponentOutcome } from './status.js';

/** The registered checks bound to a spec, each reading CRDs at the version the server stores (e.g. Kueue's). */
export async function checksForCluster(spec: object, discovery: VersionDiscovery): Promise<BoundCheck[]> {
  const sections = spec as Record<string, unknown>;
  return checksFor(sections, await discoverEnv(sections, (group, crd) => discovery.version(group, crd)));
}

/**
 * Runs every enabled check on the current caches and scrapes. A check that throws (a bug, or input it did not
 * expect) becomes an error outcome — reported as CheckFailed — and never stops the others. `pending` lists the
 * sources and scrapes a check read that have not answered yet (its verdict is then not an observation).
 */
export function runChecks(
  checks: BoundCheck[], sources: SourceManager, scrapes: ScrapeManager, now: Date, onError?: (check: BoundCheck, message: string) => void, logs?: LogManager,
): ComponentOutcome[] {
  return checks.map((check) => {
    const info = { component: check.component, conditionType: check.check.conditionType, label: check.check.label };
    if (!check.enabled) return { ...info, enabled: false };
    try {
      const data: Record<string, SourceView> = {};
      for (const [k, s] of Object.entries(check.sources)) data[k] = sources.view(s);
      const scraped: Record<string, ScrapeView> = {};
      for (const [k, s] of Object.entries(check.scrapes)) scraped[k] = scrapes.view(s);
      const followed: Record<string, LogView> = {};
      for (const [k, s] of Object.entries(check.logs)) followed[k] = logs?.view(s, now.getTime()) ?? { state: 'pending', streams: [] };
      const pending = [...Object.entries(data), ...Object.entries(scraped), ...Object.entries(followed)].filter(([, v]) => v.state === 'pending').map(([k]) => k);
      return { ...info, enabled: true, result: check.evaluate(data, scraped, now, followed), ...(pending.length ? { pending } : {}) };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      onError?.(check, message);
      return { ...info, enabled: true, error: message };
    }
  });
}
