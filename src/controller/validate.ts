import type { LabelSelector } from '../api/types.js';
import { CHECKS } from '../checks/registry.js';
import type { AnyCheck } from '../checks/types.js';
import { selectorErrors } from '../runtime/selector.js';

/** The value at a dotted path of an object, or undefined. */
function at(obj: unknown, path: string): unknown {
  let v = obj;
  for (const k of path.split('.')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
  return v;
}

/**
 * Checks what admission could not: the syntax of every label selector an enabled check declares. Returns a
 * message for Ready=False/InvalidSpec, or undefined when the spec is usable.
 */
export function validateSpec(spec: object, checks: readonly AnyCheck[] = CHECKS): string | undefined {
  const problems = checks.flatMap((c) =>
    c.selectors.flatMap((path) => {
      const field = `${c.component}.${path}`;
      return selectorErrors(at(spec, field) as LabelSelector | undefined, `spec.${field}`);
    }),
  );
  return problems.length ? problems.join('; ') : undefined;
}
