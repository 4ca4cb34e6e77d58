import { durationMs } from '../api/duration.js';
import { DEFAULT_FAILURE_GRACE } from '../api/schema.js';
import type { ScrapeView } from './types.js';

/**
 * When a failing metrics endpoint counts as failing, like a Prometheus alert's `for:`: one reset connection during
 * a rolling restart (the old pod's endpoint resets connections until it is gone, ≈ 17 s for Kaiwo) is not news.
 */

/** Consecutive failed attempts needed before a failure is reported. */
export const MIN_FAILURES = 2;
/** The failure grace when a scrape spec sets none (the schema's default of failureGrace). */
export const DEFAULT_FAILURE_GRACE_MS = durationMs(DEFAULT_FAILURE_GRACE);

/** A failing endpoint is reported once MIN_FAILURES consecutive attempts failed and the first is `graceMs` old. */
export function failurePersists(view: ScrapeView, graceMs: number, nowMs: number): boolean {
  if (view.state !== 'failing') return false;
  // A view without counts (built by hand, not by the ScrapeManager) is taken as it says.
  if (view.failures === undefined || view.failingSince === undefined) return true;
  return view.failures >= MIN_FAILURES && nowMs - view.failingSince >= graceMs;
}

export interface GracedView {
  /** The view the check evaluates. */
  view: ScrapeView;
  /** When the failure would start to count (epoch ms), if that is in the future: re-evaluate then. */
  deadline?: number;
}

// What a check sees of a failing view within its grace, kept per view so an unchanged view stays the same object
// (the check memo compares its inputs by identity).
const shown = new WeakMap<ScrapeView, ScrapeView>();

/**
 * The view a check evaluates. A failure that persists (failurePersists) is shown as it is: the check's verdict is
 * then Unknown with the scrape's reason. Within the grace the check sees the last good answers as if the endpoint
 * had answered (state ok, the same history), or, when it never answered, `pending`: not an observation yet, so the
 * condition keeps what was observed before. `deadline` is when the grace ends.
 */
export function withFailureGrace(view: ScrapeView, graceMs: number, nowMs: number): GracedView {
  if (view.state !== 'failing' || failurePersists(view, graceMs, nowMs)) return { view };
  let seen = shown.get(view);
  if (!seen) {
    seen = view.history.length ? { state: 'ok', history: view.history } : { state: 'pending', history: [] };
    shown.set(view, seen);
  }
  const deadline = (view.failingSince ?? nowMs) + graceMs;
  return { view: seen, ...(deadline > nowMs ? { deadline } : {}) };
}
