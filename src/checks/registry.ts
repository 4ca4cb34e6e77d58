import type { KaiwoMonitorSpec } from '../api/types.js';
import { gpuNodesCheck } from './gpu-nodes.js';
import { kueueCheck } from './kueue.js';
import { operatorCheck } from './operator.js';
import { type BoundCheck, bindCheck } from './types.js';
import { workloadsCheck } from './workloads.js';

/** Facts about the cluster that shape which sources checks read (from discovery). */
export interface CheckEnv {
  /** Kueue API version the server stores (v1beta2 on Kueue ≥ 0.16, v1beta1 before), undefined if not served. */
  kueueVersion?: string;
}

/** Every check bound to a monitor's spec, in condition order. Adding a check = one line here. */
export function checksFor(spec: KaiwoMonitorSpec, env: CheckEnv = {}): BoundCheck[] {
  return [
    bindCheck(operatorCheck, spec),
    bindCheck(kueueCheck, { ...spec, kueue: { ...spec.kueue, ...(env.kueueVersion ? { apiVersion: env.kueueVersion } : {}) } }),
    bindCheck(gpuNodesCheck, spec),
    bindCheck(workloadsCheck, spec),
  ];
}
