import type { LogBucket, LogErrorLine } from '../checks/types.js';

/**
 * What a log stream keeps of its error lines: per-second counts of error lines and of "Reconciler error" lines by
 * controller, and the last few lines. Pure: the caller passes the time, and each function returns new counts.
 */
export interface LogCounts {
  /** Oldest first, one per second with an error line. */
  readonly buckets: readonly LogBucket[];
  /** Newest last. */
  readonly last: readonly LogErrorLine[];
}

export const NO_COUNTS: LogCounts = { buckets: [], last: [] };
/** Error lines kept. */
export const LAST_LINES = 5;
/** Controllers counted per second by name; the rest count as 'other'. */
export const MAX_CONTROLLERS = 16;

/**
 * The counts with one error line added into its second (`line.at`), and the seconds that left the window dropped;
 * the same counts when the line itself is outside the window.
 */
export function countLine(counts: LogCounts, line: LogErrorLine, now: number, windowMs: number): LogCounts {
  const from = now - windowMs;
  if (line.at <= from) return counts;
  const second = Math.floor(line.at / 1000) * 1000;
  const old = counts.buckets.find((b) => b.at === second);
  const kept = counts.buckets.filter((b) => b !== old && b.at + 1000 > from);
  const at = kept.findIndex((b) => b.at > second);
  const bucket = addTo(old ?? { at: second, errors: 0, reconcileErrors: {} }, line);
  const buckets = at < 0 ? [...kept, bucket] : [...kept.slice(0, at), bucket, ...kept.slice(at)];
  const last = [...counts.last, line];
  return { buckets, last: last.length > LAST_LINES ? last.slice(-LAST_LINES) : last };
}

/** The buckets and lines within the window ending at `now`. */
export function countsInWindow(counts: LogCounts, now: number, windowMs: number): LogCounts {
  const from = now - windowMs;
  return { buckets: counts.buckets.filter((b) => b.at + 1000 > from), last: counts.last.filter((l) => l.at > from) };
}

function addTo(b: LogBucket, line: LogErrorLine): LogBucket {
  if (!line.reconcileError) return { ...b, errors: b.errors + (line.error ? 1 : 0) };
  const known = Object.keys(b.reconcileErrors);
  const c = line.controller && (known.includes(line.controller) || known.length < MAX_CONTROLLERS) ? line.controller : 'other';
  const reconcileErrors: Record<string, number> = { ...b.reconcileErrors };
  reconcileErrors[c] = (reconcileErrors[c] ?? 0) + 1;
  return { ...b, errors: b.errors + (line.error ? 1 : 0), reconcileErrors };
}
