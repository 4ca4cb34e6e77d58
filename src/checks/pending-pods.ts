import { isRecord, type KubeObject } from '../runtime/objects.js';
import type { SourceSpec } from './types.js';
import { podRequests } from './workload-projection.js';

/**
 * Pods the scheduler has not bound (phase Pending, no spec.nodeName): few on a healthy cluster, and the one signal
 * that tells admitted work that cannot start from work that runs without Kueue's PodsReady (written only with
 * waitForPodsReady: off by default before Kueue v0.19). The scheduler marks a pod it tried and could not place
 * PodScheduled=False reason Unschedulable; a pod not tried yet has no such condition, a gated one says
 * SchedulingGated (Kueue's pod integration gates pods until admission). Kueue merges the nodeLabels of the flavors it
 * assigned into the pod template's nodeSelector on admission (pkg/podset FromAssignment, Merge), so the selector says
 * which flavor a pod was admitted to.
 */
export const PENDING_PODS_SELECTOR = 'status.phase=Pending,spec.nodeName=';

const MAX_SELECTOR = 32; // nodeSelector entries kept (real pods carry a handful)
const MAX_KEY = 317; // a qualified name: 253-character prefix, '/', 63-character name
const MAX_VALUE = 63; // a label value
const MAX_RESOURCES = 16;
const MAX_REQUEST = 1_000_000; // per resource and pod: nobody's pod asks more
const MAX_MESSAGE = 160;

/**
 * The projection the informer caches: of metadata the identity and creationTimestamp; for a pod requesting an
 * extended resource (a name with a '/', e.g. amd.com/gpu) also what one pod requests (containers summed, at least
 * the largest init container), its nodeSelector and its PodScheduled condition (status and reason; the scheduler's
 * message when Unschedulable). A pending pod without extended resources keeps only its identity. A few hundred bytes
 * a pod; labels, owners, the containers and volumes are read by no check. Selector entries that cannot be labels
 * (over-long, not strings) are dropped: they match no flavor.
 */
export function slimPendingPod(p: KubeObject): KubeObject {
  const m = p.metadata;
  const metadata: KubeObject['metadata'] = { name: m.name };
  if (typeof m.namespace === 'string') metadata.namespace = m.namespace;
  if (typeof m.resourceVersion === 'string') metadata.resourceVersion = m.resourceVersion;
  if (typeof m.creationTimestamp === 'string') metadata.creationTimestamp = m.creationTimestamp;
  const spec = isRecord(p.spec) ? p.spec : {};
  const requests: Record<string, number> = {};
  let n = 0;
  for (const [resource, v] of Object.entries(podRequests({ spec }))) {
    if (n >= MAX_RESOURCES) break;
    if (resource.length > MAX_KEY || !(v > 0)) continue;
    requests[resource] = Math.min(v, MAX_REQUEST);
    n++;
  }
  if (!n) return { metadata };
  const nodeSelector: Record<string, string> = {};
  let kept = 0;
  if (isRecord(spec.nodeSelector)) {
    let seen = 0;
    for (const key in spec.nodeSelector) {
      if (++seen > 4 * MAX_SELECTOR || kept >= MAX_SELECTOR) break;
      const value = spec.nodeSelector[key];
      if (typeof value !== 'string' || key.length > MAX_KEY || value.length > MAX_VALUE) continue;
      nodeSelector[key] = value;
      kept++;
    }
  }
  const st = isRecord(p.status) ? p.status : {};
  const conds = Array.isArray(st.conditions) ? st.conditions : [];
  const scheduled = conds.find((c): c is Record<string, unknown> => isRecord(c) && c.type === 'PodScheduled');
  const status = typeof scheduled?.status === 'string' ? scheduled.status.slice(0, 16) : '';
  const reason = typeof scheduled?.reason === 'string' ? scheduled.reason.slice(0, 64) : '';
  // What the scheduler found ("0/12 nodes are available: 4 Insufficient amd.com/gpu, ..."), without its preemption report.
  const said = reason === 'Unschedulable' && typeof scheduled?.message === 'string' ? scheduled.message.slice(0, 4 * MAX_MESSAGE) : '';
  const message = said.split(' preemption: ')[0]?.slice(0, MAX_MESSAGE) ?? '';
  return {
    metadata,
    spec: { requests, ...(kept ? { nodeSelector } : {}) },
    status: scheduled ? { conditions: [{ type: 'PodScheduled', status, reason, ...(message ? { message } : {}) }] } : {},
  };
}

/**
 * The unbound pending pods, as slimPendingPod keeps them (shared by id with any check that reads the same); optional:
 * where they cannot be listed, Kueue's PodsReady has to do.
 */
export const pendingPodsSource: SourceSpec = {
  apiVersion: 'v1',
  plural: 'pods',
  kind: 'Pod',
  fieldSelector: PENDING_PODS_SELECTOR,
  transform: slimPendingPod,
  optional: true,
};

/** A pod the scheduler tried and could not place, as the capacity check reads it. */
export interface UnplacedPod {
  namespace: string;
  name: string;
  requests: Readonly<Record<string, number>>;
  nodeSelector: Readonly<Record<string, string>>;
  /** The scheduler's message (truncated), or ''. */
  message: string;
}

const EMPTY: Readonly<Record<string, string>> = Object.freeze({});

/** The pod if it is Unschedulable and requests an extended resource (read defensively: any object may come in). */
export function unplacedPod(p: KubeObject): UnplacedPod | undefined {
  const st = isRecord(p.status) ? p.status : undefined;
  const cond = Array.isArray(st?.conditions)
    ? (st.conditions as unknown[]).find((c) => isRecord(c) && c.type === 'PodScheduled')
    : undefined;
  if (!isRecord(cond) || cond.status !== 'False' || cond.reason !== 'Unschedulable') return undefined;
  const spec = isRecord(p.spec) ? p.spec : {};
  if (!isRecord(spec.requests)) return undefined;
  return {
    namespace: typeof p.metadata.namespace === 'string' ? p.metadata.namespace : '',
    name: typeof p.metadata.name === 'string' ? p.metadata.name : '',
    requests: spec.requests as Record<string, number>,
    nodeSelector: isRecord(spec.nodeSelector) ? (spec.nodeSelector as Record<string, string>) : EMPTY,
    message: typeof cond.message === 'string' ? cond.message : '',
  };
}
