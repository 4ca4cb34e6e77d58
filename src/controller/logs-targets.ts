import type { BoundCheck, LogSpec, SourceView } from '../checks/types.js';
import type { KubeObject } from '../runtime/objects.js';

/** One container to follow. */
export interface LogTarget {
  namespace: string;
  pod: string;
  uid: string;
  container: string;
}

/** A spec's identity: monitors naming equal specs share its streams. */
export function logSpecId(s: LogSpec): string {
  const p = s.pods;
  return JSON.stringify([
    p.apiVersion,
    p.plural,
    p.namespace ?? '',
    p.labelSelector ?? '',
    p.fieldSelector ?? '',
    s.container ?? '',
    s.windowMs,
    s.maxBytesPerSecond,
    s.maxPods,
  ]);
}

/** The containers of a spec's pods to follow: Running pods on a node, by name, at most maxPods. */
export function logTargets(spec: LogSpec, pods: SourceView): LogTarget[] {
  const running = pods.objects
    .filter((p) => {
      const st = p.status as { phase?: unknown } | undefined;
      const sp = p.spec as { nodeName?: unknown } | undefined;
      return !p.metadata.deletionTimestamp && st?.phase === 'Running' && typeof sp?.nodeName === 'string' && sp.nodeName !== '';
    })
    .sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1))
    .slice(0, spec.maxPods);
  return running.flatMap((p: KubeObject) => {
    const containers = (p.spec as { containers?: { name?: unknown }[] } | undefined)?.containers ?? [];
    const names = containers.map((c) => c.name).filter((n): n is string => typeof n === 'string');
    const chosen = spec.container === undefined ? names : names.filter((n) => n === spec.container);
    return chosen.map((container) => ({
      namespace: p.metadata.namespace ?? '',
      pod: p.metadata.name,
      uid: p.metadata.uid ?? '',
      container,
    }));
  });
}

/** What each of a monitor's bound checks wants streamed, from the pods their sources list now. */
export function wantedLogs(
  checks: BoundCheck[],
  view: (s: BoundCheck['sources'][string]) => SourceView,
): { spec: LogSpec; targets: LogTarget[] }[] {
  return checks.flatMap((c) => Object.values(c.logs).map((spec) => ({ spec, targets: logTargets(spec, view(spec.pods)) })));
}
