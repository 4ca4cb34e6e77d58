import { checksFor, discoverEnv } from '../checks/registry.js';
import { DEFAULT_FAILURE_GRACE_MS, withFailureGrace } from '../checks/scrape-grace.js';
import { awaited, type BoundCheck, type LogView, type ScrapeSpec, type ScrapeView, type SourceView } from '../checks/types.js';
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
 * sources and scrapes a check read that have not answered yet (its verdict is then not an observation); an optional
 * source whose first list failed is not among them (the check does without it).
 *
 * A failing metrics endpoint reaches the check only once the failure persists (src/checks/scrape-grace.ts):
 * before that the check evaluates the last good answers, an endpoint that never answered counts as pending, and
 * the outcome asks to be re-evaluated when the grace ends.
 */
export function runChecks(
  checks: BoundCheck[],
  sources: Pick<SourceManager, 'view'>,
  scrapes: Pick<ScrapeManager, 'view'>,
  now: Date,
  onError?: (check: BoundCheck, message: string) => void,
  logs?: LogManager,
  memo?: CheckMemo,
  onRun?: (component: string) => void,
): ComponentOutcome[] {
  return checks.map((check) => {
    const info = { component: check.component, conditionType: check.check.conditionType, label: check.check.label };
    if (!check.enabled) return { ...info, enabled: false };
    try {
      const data: Record<string, SourceView> = {};
      for (const [k, s] of Object.entries(check.sources)) data[k] = sources.view(s);
      const scraped: Record<string, ScrapeView> = {};
      let graceEnds: number | undefined;
      for (const [k, s] of Object.entries(check.scrapes)) {
        const { view, deadline } = graced(scrapes.view(s), s, now);
        scraped[k] = view;
        if (deadline !== undefined) graceEnds = Math.min(graceEnds ?? Infinity, deadline);
      }
      const followed: Record<string, LogView> = {};
      for (const [k, s] of Object.entries(check.logs)) followed[k] = logs?.view(s, now.getTime()) ?? { state: 'pending', streams: [] };
      const inputs = [...Object.values(data), ...Object.values(scraped), ...Object.values(followed)];
      const kept = memo?.get(check.component, inputs, now.getTime());
      if (kept) return kept;
      onRun?.(check.component);
      const pending = [
        ...Object.entries(data).filter(([k, v]) => awaited(v, check.sources[k])),
        ...[...Object.entries(scraped), ...Object.entries(followed)].filter(([, v]) => v.state === 'pending'),
      ].map(([k]) => k);
      const evaluated = check.evaluate(data, scraped, now, followed);
      const result =
        graceEnds !== undefined && graceEnds < (evaluated.nextCheckAt?.getTime() ?? Infinity)
          ? { ...evaluated, nextCheckAt: new Date(graceEnds) }
          : evaluated;
      const outcome: ComponentOutcome = { ...info, enabled: true, result, ...(pending.length ? { pending } : {}) };
      memo?.set(check.component, inputs, now.getTime(), outcome);
      return outcome;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      onError?.(check, message);
      return { ...info, enabled: true, error: message };
    }
  });
}

function graced(view: ScrapeView, spec: ScrapeSpec, now: Date): { view: ScrapeView; deadline?: number } {
  return withFailureGrace(view, spec.failureGraceMs ?? DEFAULT_FAILURE_GRACE_MS, now.getTime());
}

/**
 * How long a check's outcome is reused at most while nothing it reads changed and no deadline of its came: a safety
 * net like controller-runtime's SyncPeriod (checks are pure functions of their inputs and `now`, and every rule
 * that depends on time announces when it would change: nextCheckAt). The monitor's interval still paces reconciles.
 */
export const RESYNC_MS = 10 * 60_000;

/**
 * The last outcome of each check of one monitor, reused while nothing the check reads changed: every view a check
 * gets (informer cache, scrape, log window) is the same object until its content changes, so "unchanged" is an
 * identity comparison. An outcome is re-computed anyway when its time-based rules say so (nextCheckAt) or after
 * `maxAgeMs` (the resync period: the larger of the interval and RESYNC_MS), and all are dropped when the spec
 * changes (`reset` with a new generation). A watch event on the Workloads then costs the checks that read
 * Workloads, not every check, and a quiet cluster costs no evaluation at all between deadlines.
 */
export class CheckMemo {
  private readonly entries = new Map<string, { inputs: readonly unknown[]; outcome: ComponentOutcome; validUntil: number }>();
  private generation: unknown;

  constructor(private maxAgeMs: number) {}

  /** Forgets everything when the spec (generation) or the interval changed. */
  reset(generation: unknown, maxAgeMs: number): void {
    if (generation === this.generation && maxAgeMs === this.maxAgeMs) return;
    this.generation = generation;
    this.maxAgeMs = maxAgeMs;
    this.entries.clear();
  }

  get(component: string, inputs: readonly unknown[], nowMs: number): ComponentOutcome | undefined {
    const e = this.entries.get(component);
    if (!e || nowMs >= e.validUntil || e.inputs.length !== inputs.length || e.inputs.some((x, i) => x !== inputs[i])) return undefined;
    return e.outcome;
  }

  /** When the first kept outcome expires (the monitor should be reconciled by then). */
  nextExpiry(): number {
    let t = Infinity;
    for (const e of this.entries.values()) t = Math.min(t, e.validUntil);
    return t;
  }

  set(component: string, inputs: readonly unknown[], nowMs: number, outcome: ComponentOutcome): void {
    const next = outcome.result?.nextCheckAt?.getTime() ?? Infinity;
    this.entries.set(component, { inputs, outcome, validUntil: Math.min(next, nowMs + this.maxAgeMs) });
  }
}
