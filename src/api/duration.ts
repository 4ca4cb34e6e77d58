/** Go-style durations, the subset CEL's duration() also parses: 30s, 5m, 1h30m, 500ms. */
export const DURATION_PATTERN = '^([0-9]+(ms|s|m|h))+$';
export const DURATION = new RegExp(DURATION_PATTERN);

/** A duration string (DURATION_PATTERN) in milliseconds. */
export function durationMs(d: string): number {
  let total = 0;
  for (const m of d.matchAll(/([0-9]+)(ms|s|m|h)/g)) {
    const n = Number(m[1]);
    total += m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : m[2] === 'm' ? n * 60_000 : n * 3_600_000;
  }
  return total;
}
