import { isRecord } from '../runtime/objects.js';

/**
 * Node taints and pod tolerations (core/v1), read from untrusted objects: bounded, every field a string, and
 * matched the way the scheduler matches them (k8s.io/api/core/v1 Toleration.ToleratesTaint); and node selectors
 * matched against a flavor's nodeLabels.
 */
export interface Taint {
  key: string;
  value: string;
  effect: string;
}
export interface Toleration {
  key: string;
  operator: string;
  value: string;
  effect: string;
}

/** At most this many taints or tolerations are read from one list (real objects carry a handful). */
export const MAX_TAINTS = 32;
const MAX_KEY = 317; // a qualified name: 253-character prefix, '/', 63-character name
const MAX_VALUE = 63;
const MAX_WORD = 32; // operator, effect

const text = (v: unknown, max: number): string => (typeof v === 'string' ? v.slice(0, max) : '');
const records = (v: unknown): Record<string, unknown>[] => (Array.isArray(v) ? v.slice(0, MAX_TAINTS).filter(isRecord) : []);

export function taintsOf(v: unknown): Taint[] {
  return records(v).map((t) => ({ key: text(t.key, MAX_KEY), value: text(t.value, MAX_VALUE), effect: text(t.effect, MAX_WORD) }));
}

/** Tolerations as the API server defaults them (operator Equal when empty), duplicates dropped, in a stable order. */
export function tolerationsOf(v: unknown): Toleration[] {
  const seen = new Map<string, Toleration>();
  for (const t of records(v)) {
    const tol = {
      key: text(t.key, MAX_KEY),
      operator: text(t.operator, MAX_WORD) || 'Equal',
      value: text(t.value, MAX_VALUE),
      effect: text(t.effect, MAX_WORD),
    };
    seen.set(`${tol.key}\0${tol.operator}\0${tol.value}\0${tol.effect}`, tol);
  }
  return [...seen.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, t]) => t);
}

const DECIMAL = /^(0|-?[1-9][0-9]{0,18})$/; // content.IsDecimalInteger: no leading zeros, no "-0"
const INT64 = [-(2n ** 63n), 2n ** 63n - 1n] as const;
const int64 = (s: string): bigint | undefined => {
  if (!DECIMAL.test(s)) return undefined;
  const n = BigInt(s);
  return n < INT64[0] || n > INT64[1] ? undefined : n;
};

/**
 * Toleration.ToleratesTaint (k8s.io/api v0.36 core/v1/toleration.go): an empty effect matches every effect, an
 * empty key every key; Equal (or no operator) compares values, Exists does not, Lt/Gt compare them as int64.
 */
export function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  switch (t.operator) {
    case '':
    case 'Equal':
      return t.value === taint.value;
    case 'Exists':
      return true;
    case 'Lt':
    case 'Gt': {
      const mine = int64(t.value);
      const theirs = int64(taint.value);
      if (mine === undefined || theirs === undefined) return false;
      return t.operator === 'Lt' ? theirs < mine : theirs > mine;
    }
    default:
      return false;
  }
}

export const toleratesAny = (ts: readonly Toleration[], taint: Taint): boolean => ts.some((t) => tolerates(t, taint));

/** "key=value:Effect" (kubectl's notation). */
export const taintString = (t: Taint): string => `${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`;

/** The same taint: key, value and effect equal (how a ResourceFlavor's nodeTaints name a node's). */
export const sameTaint = (a: Taint, b: Taint): boolean => a.key === b.key && a.value === b.value && a.effect === b.effect;

/** Every label of `labels` is in the selector with the same value (a nodeSelector, or a node's labels, against a flavor's nodeLabels). */
export function selects(selector: Readonly<Record<string, string>>, labels: readonly (readonly [string, string])[]): boolean {
  for (const [k, v] of labels) if (selector[k] !== v) return false;
  return true;
}
