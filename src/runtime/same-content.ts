import type { KubeObject } from './objects.js';

/**
 * Whether two cached versions of one object carry the same content apart from metadata.resourceVersion (and
 * apiVersion/kind): after an
 * informer's projection (e.g. node heartbeat times dropped) most updates of a busy cluster change nothing a check
 * reads, and must not cost an evaluation. Iterative (a hostile, deeply nested object cannot overflow the stack)
 * and bounded: past `budget` visited values it answers "different", which is always safe.
 */
export function sameContent(a: KubeObject, b: KubeObject, budget = 100_000): boolean {
  if (a === b) return true;
  // apiVersion and kind are fixed for one collection, and a list's items omit them while watch events carry them.
  const { resourceVersion: _ra, ...ma } = a.metadata;
  const { resourceVersion: _rb, ...mb } = b.metadata;
  const { apiVersion: _va, kind: _ka, ...ra } = a;
  const { apiVersion: _vb, kind: _kb, ...rb } = b;
  const stack: [unknown, unknown][] = [
    [
      { ...ra, metadata: ma },
      { ...rb, metadata: mb },
    ],
  ];
  let visited = 0;
  for (let pair = stack.pop(); pair; pair = stack.pop()) {
    const [x, y] = pair;
    if (x === y) continue;
    if (++visited > budget) return false;
    if (typeof x !== 'object' || typeof y !== 'object' || x === null || y === null) return false;
    if (Array.isArray(x) !== Array.isArray(y)) return false;
    if (Array.isArray(x)) {
      const ya = y as unknown[];
      if (x.length !== ya.length) return false;
      for (let i = 0; i < x.length; i++) stack.push([x[i], ya[i]]);
      continue;
    }
    const xo = x as Record<string, unknown>;
    const yo = y as Record<string, unknown>;
    const keys = Object.keys(xo);
    if (keys.length !== Object.keys(yo).length) return false;
    for (const k of keys) {
      if (!Object.prototype.hasOwnProperty.call(yo, k)) return false;
      stack.push([xo[k], yo[k]]);
    }
  }
  return true;
}
