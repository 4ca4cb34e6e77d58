/**
 * When this process first saw something missing: a GPU node without its device-plugin pod, a node without exporter
 * series. A pure check sees only what is there; an absence has no object to carry a timestamp, so its start is kept
 * here, by this process's clock, and forgotten as soon as the thing is seen again. A restarted process starts the
 * clock anew (a grace later than the truth, never an alarm earlier than it). Shared by every monitor in the process:
 * the absence is a fact about the cluster, not about a monitor.
 */
const since = new Map<string, { at: number; touched: number }>();
/**
 * Entries not asked about for this long are dropped (the node or the rule went away). Longer than the longest time
 * between two evaluations of a quiet monitor (its resync: the larger of 10 min and its interval, at most 1 h), so a
 * reported absence is not forgotten, and its grace restarted, between them.
 */
const FORGET_MS = 2 * 60 * 60_000;
const MAX_ENTRIES = 200_000;
let calls = 0;

/** The time `key` has been absent since (first asked while absent), or undefined when it is present. */
export function absentSince(key: string, absent: boolean, nowMs: number): number | undefined {
  if (++calls % 1000 === 0 || since.size > MAX_ENTRIES) sweep(nowMs);
  if (!absent) {
    since.delete(key);
    return undefined;
  }
  const have = since.get(key);
  if (have) {
    have.touched = nowMs;
    return have.at;
  }
  since.set(key, { at: nowMs, touched: nowMs });
  return nowMs;
}

function sweep(nowMs: number): void {
  for (const [k, v] of since) if (nowMs - v.touched > FORGET_MS || since.size > MAX_ENTRIES) since.delete(k);
}

/** For tests: forget every absence. */
export function resetAbsences(): void {
  since.clear();
  calls = 0;
}
