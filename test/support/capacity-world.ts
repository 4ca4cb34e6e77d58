/** A small cluster for the capacity check's unit tests: its sources as the check sees them, and how to run it. */
import { applyDefaults } from '../../src/api/defaults.js';
import { capacityCheck, type CapacitySpec } from '../../src/checks/capacity.js';
import { type KaiwoMonitorSpec, specSchema } from '../../src/checks/registry.js';
import type { CheckResult, SourceView } from '../../src/checks/types.js';
import type { KubeObject } from '../../src/runtime/objects.js';
import { clusterQueue, flavor, localQueue, node, type Version } from './capacity-fixtures.js';
import { NOW, view } from './fixtures.js';

export const spec = (over: object = {}): CapacitySpec => applyDefaults<KaiwoMonitorSpec>(specSchema, { capacity: over }).capacity;
export const POOL = { pool: 'mi300x' };

export interface World {
  nodes?: KubeObject[];
  flavors?: KubeObject[];
  cqs?: KubeObject[];
  lqs?: KubeObject[];
  wls?: KubeObject[];
  kaiwoConfig?: SourceView;
  /** The unbound pending pods (none by default), or the source's view (e.g. a list that fails). */
  pods?: KubeObject[] | SourceView;
  /** Kueue Cohort objects (the source is there only when given, as when the CRD is served). */
  cohorts?: KubeObject[];
  /** Every ClusterQueue, when the spec selects some (clusterQueueSelector). */
  allCqs?: KubeObject[];
}

/**
 * Two Ready 8-GPU AMD nodes in flavor mi300x, ClusterQueue team (nominal 16) fed by LocalQueue ml/team, no unbound
 * pending pods; KaiwoConfig only when given.
 */
export function world(w: World = {}): Record<string, SourceView> {
  return {
    nodes: view(w.nodes ?? [node('gpu-0', { labels: POOL }), node('gpu-1', { labels: POOL })]),
    resourceFlavors: view(w.flavors ?? [flavor('mi300x', POOL)]),
    clusterQueues: view(
      w.cqs ?? [clusterQueue('team', { flavors: [{ name: 'mi300x', resources: [{ name: 'amd.com/gpu', nominal: 16 }] }] })],
    ),
    localQueues: view(w.lqs ?? [localQueue('ml', 'team', 'team')]),
    workloads: view(w.wls ?? []),
    pendingPods: Array.isArray(w.pods) || !w.pods ? view(w.pods ?? []) : w.pods,
    ...(w.kaiwoConfig ? { kaiwoConfig: w.kaiwoConfig } : {}),
    ...(w.cohorts ? { cohorts: view(w.cohorts) } : {}),
    ...(w.allCqs ? { allClusterQueues: view(w.allCqs) } : {}),
  };
}

export const run = (data: Record<string, SourceView>, over: object = {}, v?: Version): CheckResult =>
  capacityCheck.evaluate({ spec: spec(over), data, scrapes: {}, now: NOW, env: v ? { storageVersion: v } : {} });

/** ClusterQueue `name` with one flavor (mi300x) of amd.com/gpu. */
export const cq = (
  name: string,
  nominal: number,
  reserved: number,
  extra: { borrowingLimit?: number; lendingLimit?: number; cohort?: string; v?: Version; usageOnly?: boolean } = {},
) =>
  clusterQueue(name, {
    flavors: [
      {
        name: 'mi300x',
        resources: [
          {
            name: 'amd.com/gpu',
            nominal,
            ...(extra.borrowingLimit !== undefined ? { borrowingLimit: extra.borrowingLimit } : {}),
            ...(extra.lendingLimit !== undefined ? { lendingLimit: extra.lendingLimit } : {}),
          },
        ],
      },
    ],
    reserved: { mi300x: { 'amd.com/gpu': reserved } },
    ...(extra.cohort ? { cohort: extra.cohort } : {}),
    ...(extra.v ? { v: extra.v } : {}),
    ...(extra.usageOnly ? { usageOnly: true } : {}),
  });

export const reasons = (r: CheckResult) => r.findings.map((f) => `${f.severity}:${f.reason}`).sort();
export const finding = (r: CheckResult, reason: string) => r.findings.find((f) => f.reason === reason);
