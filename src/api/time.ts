/**
 * Kubernetes time formats, in one place. metav1.Time is RFC 3339 with second precision ("2026-01-02T03:04:05Z");
 * metav1.MicroTime has six fraction digits (Events' eventTime, Leases' renewTime/acquireTime).
 */
export function isoSeconds(d: Date | number): string {
  const iso = new Date(d).toISOString(); // always YYYY-MM-DDTHH:MM:SS.sssZ for years 0-9999
  return `${iso.slice(0, 19)}Z`;
}

export function microTime(d: Date | number): string {
  const iso = new Date(d).toISOString();
  return `${iso.slice(0, 23)}000Z`;
}

/** Milliseconds since the epoch of an RFC 3339 time; undefined when absent or unparsable. */
export function parseTime(s: string | undefined): number | undefined {
  if (!s) return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
}
