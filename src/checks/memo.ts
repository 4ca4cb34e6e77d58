/**
 * Memoises a pure fold over a source's objects. Informer caches hand checks the same `objects` array until the
 * cache changes (Informer.list), so `memoFold(fold, objects, ...deps)` runs `fold` once per change of its inputs
 * (deps compared by identity), not once per evaluation: a Lease renewal re-runs the Kueue check but not its pass
 * over 50,000 Workloads. Entries are held weakly by the array and go with it; one entry per (fold, array).
 */
const folds = new WeakMap<object, WeakMap<object, { deps: readonly unknown[]; value: unknown }>>();

export function memoFold<K extends object, D extends unknown[], T>(fold: (key: K, ...deps: D) => T, key: K, ...deps: D): T {
  let byKey = folds.get(fold);
  if (!byKey) folds.set(fold, (byKey = new WeakMap()));
  const hit = byKey.get(key);
  if (hit?.deps.length === deps.length && hit.deps.every((d, i) => d === deps[i])) return hit.value as T;
  const value = fold(key, ...deps);
  byKey.set(key, { deps, value });
  return value;
}
