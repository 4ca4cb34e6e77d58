import { isoSeconds } from './time.js';
import type { Condition, ConditionStatus } from './types.js';

/** metav1.Condition limits (apimachinery validation). */
export const REASON_PATTERN = /^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/;
export const MAX_MESSAGE = 32768;

export type ConditionInput = Omit<Condition, 'lastTransitionTime'>;

export function findCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** Truncates to `max` characters, marking the cut. */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * meta.SetStatusCondition semantics: one entry per type; lastTransitionTime moves only when status changes;
 * reason, message and observedGeneration update in place. Returns a new list, input untouched.
 */
export function setCondition(conditions: readonly Condition[] | undefined, next: ConditionInput, now: Date): Condition[] {
  if (!REASON_PATTERN.test(next.reason)) throw new Error(`condition ${next.type}: reason ${JSON.stringify(next.reason)} is not CamelCase`);
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === next.type);
  const message = truncate(next.message, MAX_MESSAGE);
  const existing = i >= 0 ? list[i] : undefined;
  const lastTransitionTime = existing?.status === next.status ? existing.lastTransitionTime : isoSeconds(now);
  const updated: Condition = { type: next.type, status: next.status, lastTransitionTime, reason: next.reason, message };
  if (next.observedGeneration !== undefined) updated.observedGeneration = next.observedGeneration;
  if (i >= 0) list[i] = updated;
  else list.push(updated);
  return list;
}

export function removeCondition(conditions: readonly Condition[] | undefined, type: string): Condition[] {
  return (conditions ?? []).filter((c) => c.type !== type);
}

/** AND over component statuses: False if any is False, else Unknown if any is Unknown, else True. */
export function andStatus(statuses: readonly ConditionStatus[]): ConditionStatus {
  if (statuses.includes('False')) return 'False';
  if (statuses.includes('Unknown') || statuses.length === 0) return 'Unknown';
  return 'True';
}

/**
 * A transition worth an Event: the status changed, or the reason changed while False (a different fault).
 * Unknown → Unknown with a new reason is not news.
 */
export function isTransition(before: Condition | undefined, after: Condition): boolean {
  if (!before) return after.status !== 'Unknown';
  return before.status !== after.status || (after.status === 'False' && before.reason !== after.reason);
}
