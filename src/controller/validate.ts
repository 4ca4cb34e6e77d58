import type { LabelSelector } from '../api/types.js';
import { CHECKS } from '../checks/registry.js';
import type { AnyCheck } from '../checks/types.js';
import { selectorErrors } from '../runtime/selector.js';

/** The values at a dotted path of an object, with `[]` after a key for each item of an array ("a.list[].selector"), and their paths. */
function at(obj: unknown, path: string): { value: unknown; path: string }[] {
  let found: { value: unknown; path: string }[] = [{ value: obj, path: '' }];
  for (const part of path.split('.')) {
    const each = part.endsWith('[]');
    const k = each ? part.slice(0, -2) : part;
    found = found.flatMap(({ value, path: p }) => {
      const v = value && typeof value === 'object' ? (value as Record<string, unknown>)[k] : undefined;
      const here = p ? `${p}.${k}` : k;
      if (!each) return [{ value: v, path: here }];
      return Array.isArray(v) ? v.map((item: unknown, i) => ({ value: item, path: `${here}[${i}]` })) : [];
    });
  }
  return found;
}

/**
 * Checks what admission could not: the syntax of every label selector an enabled check declares. Returns a
 * message for Ready=False/InvalidSpec, or undefined when the spec is usable.
 */
export function validateSpec(spec: object, checks: readonly AnyCheck[] = CHECKS): string | undefined {
  const problems = checks.flatMap((c) =>
    c.selectors.flatMap((path) => {
      return at(spec, `${c.component}.${path}`).flatMap(({ value, path: p }) =>
        selectorErrors(value as LabelSelector | undefined, `spec.${p}`),
      );
    }),
  );
  return problems.length ? problems.join('; ') : undefined;
}
