import { isRecord, type KubeObject } from '../runtime/objects.js';
import { quantity } from './util.js';

/**
 * The one projection of Kueue Workloads every check shares (the Kueue and capacity checks read the same informer:
 * SourceManager shares a source by apiVersion/plural/namespace/selectors, so both must cache the same shape).
 * The Workload CRD embeds full pod templates (1.4 MB of schema); only this is kept: queueName, active, and per
 * pod set its name, count and the extended resources (names with a '/', e.g. amd.com/gpu) one pod requests; of
 * metadata, the identity and creationTimestamp; of status, the conditions (without observedGeneration), the
 * admitting ClusterQueue and the admission checks (name, state, message). Labels, owner references, pod-set
 * assignments, resource usage and requeue state are read by no check: at 43,500 Workloads they are ≈ 23 MiB of heap.
 */
export interface PodSetProjection {
  name: string;
  count: number;
  /** Extended resources one pod of the set requests (Kueue's effective pod request: containers summed, at least the largest init container). */
  requests: Record<string, number>;
}

interface Container { resources?: { requests?: Record<string, unknown>; limits?: Record<string, unknown> } }
interface PodSpecLike { containers?: unknown; initContainers?: unknown }

const MAX_POD_SETS = 16; // Kueue's own limit (podSets maxItems 8 in v1beta1, 16 in v1beta2)
const MAX_RESOURCES = 16;

function containers(v: unknown): Container[] {
  return Array.isArray(v) ? v.filter((c): c is Container => typeof c === 'object' && c !== null) : [];
}

/** Extended-resource requests of one container: requests, else limits (the API server defaults one from the other). */
function extendedOf(c: Container): [string, number][] {
  const req = c.resources?.requests ?? {};
  const lim = c.resources?.limits ?? {};
  const names = new Set([...Object.keys(typeof req === 'object' ? req : {}), ...Object.keys(typeof lim === 'object' ? lim : {})]);
  const out: [string, number][] = [];
  for (const n of names) {
    if (!n.includes('/') || out.length >= MAX_RESOURCES) continue;
    const v = quantity(req[n] ?? lim[n]);
    if (v > 0) out.push([n, v]);
  }
  return out;
}

/** One pod's extended-resource request: the containers' sum, raised to the largest init container. */
export function podRequests(template: unknown): Record<string, number> {
  const spec = ((template as { spec?: unknown } | undefined)?.spec ?? {}) as PodSpecLike;
  const sum: Record<string, number> = {};
  for (const c of containers(spec.containers)) for (const [n, v] of extendedOf(c)) sum[n] = (sum[n] ?? 0) + v;
  for (const c of containers(spec.initContainers)) for (const [n, v] of extendedOf(c)) sum[n] = Math.max(sum[n] ?? 0, v);
  return sum;
}

export function slimWorkload(w: KubeObject): KubeObject {
  const spec = (w.spec ?? {}) as { queueName?: unknown; active?: unknown; podSets?: unknown };
  const podSets: PodSetProjection[] = (Array.isArray(spec.podSets) ? spec.podSets as unknown[] : []).slice(0, MAX_POD_SETS).map((p) => {
    const ps = (typeof p === 'object' && p !== null ? p : {}) as { name?: unknown; count?: unknown; template?: unknown };
    const count = typeof ps.count === 'number' && Number.isFinite(ps.count) ? Math.max(0, Math.trunc(ps.count)) : 1;
    return { name: typeof ps.name === 'string' ? ps.name.slice(0, 63) : '', count, requests: podRequests(ps.template) };
  });
  const m = w.metadata;
  const st = (isRecord(w.status) ? w.status : {}) as { conditions?: unknown; admission?: unknown; admissionChecks?: unknown };
  const admittedTo = isRecord(st.admission) && typeof st.admission.clusterQueue === 'string' ? st.admission.clusterQueue : undefined;
  const status: Record<string, unknown> = {};
  if (Array.isArray(st.conditions)) status.conditions = st.conditions.map((c) => pick(c, CONDITION_FIELDS));
  if (admittedTo !== undefined) status.admission = { clusterQueue: admittedTo };
  if (Array.isArray(st.admissionChecks)) status.admissionChecks = st.admissionChecks.map((c) => pick(c, ['name', 'state', 'message']));
  return {
    ...(w.apiVersion ? { apiVersion: w.apiVersion } : {}),
    ...(w.kind ? { kind: w.kind } : {}),
    metadata: pick(m, METADATA_FIELDS) as KubeObject['metadata'],
    spec: {
      queueName: typeof spec.queueName === 'string' ? spec.queueName : undefined,
      active: typeof spec.active === 'boolean' ? spec.active : undefined,
      podSets,
    },
    status,
  };
}

const METADATA_FIELDS = ['name', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp'];
const CONDITION_FIELDS = ['type', 'status', 'reason', 'message', 'lastTransitionTime'];

/** The listed fields of `v` that are present (anything that is not an object yields an empty one). */
function pick(v: unknown, fields: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!isRecord(v)) return out;
  for (const f of fields) if (v[f] !== undefined) out[f] = v[f];
  return out;
}

/** The pod sets of a projected Workload. */
export function podSetsOf(w: KubeObject): readonly PodSetProjection[] {
  const ps = (w.spec as { podSets?: unknown } | undefined)?.podSets;
  return Array.isArray(ps) ? (ps as PodSetProjection[]) : [];
}
