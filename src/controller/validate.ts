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
