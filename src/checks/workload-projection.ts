import { isRecord, type KubeObject } from '../runtime/objects.js';
import { type Toleration, tolerationsOf } from './scheduling.js';
import { quantity } from './util.js';

/**
 * The one projection of Kueue Workloads every check shares (the Kueue and capacity checks read the same informer:
 * SourceManager shares a source by apiVersion/plural/namespace/selectors, so both must cache the same shape).
 * The Workload CRD embeds full pod templates (1.4 MB of schema); only this is kept: queueName, active, and per
 * pod set its name, count, the extended resources (names with a '/', e.g. amd.com/gpu) one pod requests and its
 * tolerations; of metadata, the identity and creationTimestamp; of status, the conditions (without
 * observedGeneration), the admitting ClusterQueue with the flavor of each extended resource per pod set, and the
 * admission checks (name, state, message). Labels, owner references, resource usage, topology assignments and
 * requeue state are read by no check: at 43,500 Workloads they are ≈ 23 MiB of heap. Tolerations and flavor
 * assignments repeat across thousands of Workloads, so equal ones are one shared (never mutated) value.
 */
export interface PodSetProjection {
  name: string;
  count: number;
  /**
   * Extended resources one pod of the set requests (Kueue's effective pod request: containers summed, at least the
   * largest init container).
   */
  requests: Record<string, number>;
  /** The pod template's tolerations (absent when it has none). */
  tolerations?: readonly Toleration[];
}

/** The flavor Kueue assigned to each extended resource of one pod set (status.admission.podSetAssignments). */
export interface AssignmentProjection {
  name: string;
  flavors: Record<string, string>;
}

interface Container {
  resources?: { requests?: Record<string, unknown>; limits?: Record<string, unknown> };
}
interface PodSpecLike {
  containers?: unknown;
  initContainers?: unknown;
  tolerations?: unknown;
}

const MAX_POD_SETS = 16; // Kueue's own limit (podSets maxItems 8 in v1beta1, 16 in v1beta2)
const MAX_RESOURCES = 16;
const MAX_SHARED = 4096;
const MAX_SHARED_KEY = 4096;
let shared = new Map<string, unknown>();

/**
 * One copy of equal JSON values across cached Workloads (bounded like the string table of src/runtime/intern.ts:
 * when full it starts over, values already shared stay shared). Callers never mutate what it returns.
 */
function share<T>(value: T): T {
  const key = JSON.stringify(value);
  if (key.length > MAX_SHARED_KEY) return value;
  const hit = shared.get(key);
  if (hit !== undefined) return hit as T;
  if (shared.size >= MAX_SHARED) shared = new Map();
  shared.set(key, value);
  return value;
}

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
  const podSets: PodSetProjection[] = (Array.isArray(spec.podSets) ? (spec.podSets as unknown[]) : []).slice(0, MAX_POD_SETS).map((p) => {
    const ps = (typeof p === 'object' && p !== null ? p : {}) as { name?: unknown; count?: unknown; template?: unknown };
    const count = typeof ps.count === 'number' && Number.isFinite(ps.count) ? Math.max(0, Math.trunc(ps.count)) : 1;
    const tolerations = tolerationsOf((ps.template as { spec?: PodSpecLike | null } | null | undefined)?.spec?.tolerations);
    return {
      name: typeof ps.name === 'string' ? ps.name.slice(0, 63) : '',
      count,
      requests: podRequests(ps.template),
      ...(tolerations.length ? { tolerations: share(tolerations) } : {}),
    };
  });
  const m = w.metadata;
  const st = (isRecord(w.status) ? w.status : {}) as {
    conditions?: unknown;
    admission?: unknown;
    admissionChecks?: unknown;
    unhealthyNodes?: unknown;
  };
  const admittedTo = isRecord(st.admission) && typeof st.admission.clusterQueue === 'string' ? st.admission.clusterQueue : undefined;
  const status: Record<string, unknown> = {};
  if (Array.isArray(st.conditions)) status.conditions = st.conditions.map((c) => pick(c, CONDITION_FIELDS));
  if (admittedTo !== undefined) {
    const assigned = assignmentsOf(isRecord(st.admission) ? st.admission.podSetAssignments : undefined);
    status.admission = { clusterQueue: admittedTo, ...(assigned.length ? { podSetAssignments: share(assigned) } : {}) };
  }
  if (Array.isArray(st.admissionChecks))
    status.admissionChecks = st.admissionChecks
      .slice(0, MAX_LISTED)
      .map((c) => pick(c, ['name', 'state', 'message', 'lastTransitionTime']));
  // Topology-aware scheduling's nodes found unhealthy (names only).
  if (Array.isArray(st.unhealthyNodes) && st.unhealthyNodes.length)
    status.unhealthyNodes = st.unhealthyNodes.slice(0, MAX_LISTED).map((n) => pick(n, ['name']));
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

/** Admission checks and unhealthy nodes kept per Workload (Kueue lists at most 8 checks per queue; nodes are few). */
const MAX_LISTED = 16;
const METADATA_FIELDS = ['name', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp'];
const CONDITION_FIELDS = ['type', 'status', 'reason', 'message', 'lastTransitionTime'];

/** The listed fields of `v` that are present (anything that is not an object yields an empty one). */
export function pick(v: unknown, fields: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!isRecord(v)) return out;
  for (const f of fields) if (v[f] !== undefined) out[f] = v[f];
  return out;
}

/** Per pod set, the flavors of its extended resources (none: nothing but cpu, memory and the like was assigned). */
function assignmentsOf(v: unknown): AssignmentProjection[] {
  if (!Array.isArray(v)) return [];
  const out: AssignmentProjection[] = [];
  for (const a of v.slice(0, MAX_POD_SETS)) {
    if (!isRecord(a) || !isRecord(a.flavors)) continue;
    const flavors: Record<string, string> = {};
    let n = 0;
    let seen = 0;
    for (const resource in a.flavors) {
      if (++seen > 4 * MAX_RESOURCES || n >= MAX_RESOURCES) break;
      const flavor = a.flavors[resource];
      if (!resource.includes('/') || typeof flavor !== 'string') continue;
      flavors[resource.slice(0, 317)] = flavor.slice(0, 253);
      n++;
    }
    if (n) out.push({ name: typeof a.name === 'string' ? a.name.slice(0, 63) : '', flavors });
  }
  return out;
}

/** The flavor assignments of a projected Workload (empty when not admitted, or nothing extended was assigned). */
export function assignmentsOfWorkload(w: KubeObject): readonly AssignmentProjection[] {
  const a = (w.status as { admission?: { podSetAssignments?: unknown } } | undefined)?.admission?.podSetAssignments;
  return Array.isArray(a) ? (a as AssignmentProjection[]) : [];
}

/** The pod sets of a projected Workload. */
export function podSetsOf(w: KubeObject): readonly PodSetProjection[] {
  const ps = (w.spec as { podSets?: unknown } | undefined)?.podSets;
  return Array.isArray(ps) ? (ps as PodSetProjection[]) : [];
}
