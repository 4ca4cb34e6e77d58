/** metav1.LabelSelector: validation, the wire string form for list/watch, and in-memory matching. */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const PREFIX = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Why a label key is invalid, or undefined when it is valid (apimachinery IsQualifiedName). */
export function labelKeyError(key: string): string | undefined {
  const parts = key.split('/');
  if (parts.length > 2) return `label key ${JSON.stringify(key)} has more than one '/'`;
  const [prefix, name] = parts.length === 2 ? parts : [undefined, parts[0]];
  if (prefix !== undefined && (prefix.length === 0 || prefix.length > 253 || !PREFIX.test(prefix)))
    return `label key ${JSON.stringify(key)} has an invalid prefix`;
  if (!name || name.length > 63 || !NAME.test(name))
    return `label key ${JSON.stringify(key)} is not a valid name (alphanumerics, '-', '_', '.'; at most 63)`;
  return undefined;
}

export function labelValueError(value: string): string | undefined {
  if (value === '') return undefined;
  if (value.length > 63 || !NAME.test(value))
    return `label value ${JSON.stringify(value)} is invalid (alphanumerics, '-', '_', '.'; at most 63)`;
  return undefined;
}

/** All problems with a selector (empty when valid). */
export function selectorErrors(sel: LabelSelector | undefined, field: string): string[] {
  if (!sel) return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) {
    const e = labelKeyError(k) ?? labelValueError(v);
    if (e) out.push(`${field}.matchLabels: ${e}`);
  }
  for (const [i, r] of (sel.matchExpressions ?? []).entries()) {
    const e = labelKeyError(r.key) ?? (r.values ?? []).map(labelValueError).find(Boolean);
    if (e) out.push(`${field}.matchExpressions[${i}]: ${e}`);
    if (!['In', 'NotIn', 'Exists', 'DoesNotExist'].includes(r.operator))
      out.push(`${field}.matchExpressions[${i}]: unknown operator ${r.operator}`);
  }
  return out;
}

/** The selector as the API server's labelSelector query string ("" selects everything). */
export function selectorString(sel: LabelSelector | undefined): string {
  if (!sel) return '';
  const parts = Object.entries(sel.matchLabels ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`);
  for (const r of sel.matchExpressions ?? []) {
    const vals = [...(r.values ?? [])].sort().join(',');
    if (r.operator === 'In') parts.push(`${r.key} in (${vals})`);
    else if (r.operator === 'NotIn') parts.push(`${r.key} notin (${vals})`);
    else if (r.operator === 'Exists') parts.push(r.key);
    else parts.push(`!${r.key}`);
  }
  return parts.join(',');
}

export function matchesSelector(sel: LabelSelector | undefined, labels: Record<string, string> | undefined): boolean {
  if (!sel) return true;
  const l = labels ?? {};
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const r of sel.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    const v = l[r.key];
    switch (r.operator) {
      case 'In':
        if (!has || v === undefined || !(r.values ?? []).includes(v)) return false;
        break;
      case 'NotIn':
        if (has && v !== undefined && (r.values ?? []).includes(v)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}
