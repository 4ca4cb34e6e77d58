import type { KaiwoMonitorSpec } from '../api/types.js';
import { selectorErrors } from '../runtime/selector.js';

/**
 * Checks what admission could not: label-selector syntax. Returns a message for Ready=False/InvalidSpec, or
 * undefined when the spec is usable.
 */
export function validateSpec(spec: KaiwoMonitorSpec): string | undefined {
  const problems = [
    ...selectorErrors(spec.operator.podSelector, 'spec.operator.podSelector'),
    ...selectorErrors(spec.kueue.podSelector, 'spec.kueue.podSelector'),
    ...selectorErrors(spec.kueue.clusterQueueSelector, 'spec.kueue.clusterQueueSelector'),
    ...selectorErrors(spec.kueue.localQueueNamespaceSelector, 'spec.kueue.localQueueNamespaceSelector'),
    ...selectorErrors(spec.gpuNodes.nodeSelector, 'spec.gpuNodes.nodeSelector'),
    ...selectorErrors(spec.workloads.namespaceSelector, 'spec.workloads.namespaceSelector'),
  ];
  return problems.length ? problems.join('; ') : undefined;
}

/** Go duration subset used by the schema (e.g. 1h30m, 500ms) in milliseconds. */
export function durationMs(d: string): number {
  let total = 0;
  for (const m of d.matchAll(/([0-9]+)(ms|s|m|h)/g)) {
    const n = Number(m[1]);
    total += m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : m[2] === 'm' ? n * 60_000 : n * 3_600_000;
  }
  return total;
}
