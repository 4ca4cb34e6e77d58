import type { KubeConfig } from '../runtime/kubeconfig.js';
import { isRecord, type KubeObject } from '../runtime/objects.js';
import { HttpStatusError } from '../runtime/http.js';
import { rawJson } from '../runtime/rawrequest.js';
import { workloadFacts } from '../checks/capacity-workloads.js';
import { quantity } from '../checks/util.js';
import { PENDING_PODS_SELECTOR, slimPendingPod } from '../checks/pending-pods.js';
import { slimWorkload } from '../checks/workload-projection.js';
import { capacityFor, flavorSelector, flavorsOf, largestNode } from './capacity.js';
import { computedPosition, pendingEntry, projected } from './position.js';
import type { Position, QueueEntry, Target, TargetKind, WhySnapshot } from './types.js';

const KUEUE = 'kueue.x-k8s.io';
const KAIWO = 'kaiwo.silogen.ai/v1alpha1';
/** The Kueue API version Kaiwo's client speaks (v0.1.x and v0.2 build on Kueue's v1beta1 Go types). */
export const KAIWO_KUEUE_VERSION = 'v1beta1';
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
/** A Kubernetes object, as far as `why` relies on it: a record whose metadata has a string name. */
const isObject = (v: unknown): v is KubeObject => isRecord(v) && isRecord(v.metadata) && typeof v.metadata.name === 'string';
/** The items of a list answer that are objects (a hostile or broken answer yields fewer, never a crash). */
const list = (v: unknown): KubeObject[] => (isRecord(v) && Array.isArray(v.items) ? (v.items as unknown[]).filter(isObject) : []);
const enc = encodeURIComponent;

/** A question `why` cannot ask: unknown kind, missing object, no permission. Exit 2 with this one line. */
export class WhyError extends Error {}

const ALIASES: Record<string, TargetKind> = {
  kaiwojob: 'KaiwoJob',
  kaiwojobs: 'KaiwoJob',
  'kaiwojobs.kaiwo.silogen.ai': 'KaiwoJob',
  kaiwoservice: 'KaiwoService',
  kaiwoservices: 'KaiwoService',
  'kaiwoservices.kaiwo.silogen.ai': 'KaiwoService',
  workload: 'Workload',
  workloads: 'Workload',
  wl: 'Workload',
  kwl: 'Workload',
  'workloads.kueue.x-k8s.io': 'Workload',
  job: 'Job',
  jobs: 'Job',
  'jobs.batch': 'Job',
  rayjob: 'RayJob',
  rayjobs: 'RayJob',
  'rayjobs.ray.io': 'RayJob',
  deployment: 'Deployment',
  deployments: 'Deployment',
  deploy: 'Deployment',
  'deployments.apps': 'Deployment',
};

/** "kaiwojob/train-7" → the target; a kind `why` does not know is a WhyError naming the ones it does. */
export function parseTarget(ref: string, namespace: string): Target {
  const m = /^([A-Za-z0-9.-]{1,80})\/([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?)$/.exec(ref);
  if (!m?.[1] || !m[2]) throw new WhyError(`expected <kind>/<name>, e.g. kaiwojob/train-7; got ${JSON.stringify(ref.slice(0, 100))}`);
  const kind = ALIASES[m[1].toLowerCase()];
  if (!kind)
    throw new WhyError(`unknown kind ${JSON.stringify(m[1])}: why answers for kaiwojob, kaiwoservice, workload, job, rayjob or deployment`);
  return { kind, namespace, name: m[2] };
}

const PATHS: Record<Exclude<TargetKind, 'Workload'>, string> = {
  KaiwoJob: `/apis/${KAIWO}/namespaces/{ns}/kaiwojobs/{name}`,
  KaiwoService: `/apis/${KAIWO}/namespaces/{ns}/kaiwoservices/{name}`,
  Job: '/apis/batch/v1/namespaces/{ns}/jobs/{name}',
  RayJob: '/apis/ray.io/v1/namespaces/{ns}/rayjobs/{name}',
  Deployment: '/apis/apps/v1/namespaces/{ns}/deployments/{name}',
};
const pathOf = (template: string, ns: string, name: string) => template.replace('{ns}', enc(ns)).replace('{name}', enc(name));

export interface GatherOptions {
  /** Pending Workloads read at most to compute a position when Kueue's visibility API is not served. */
  maxQueueRead?: number;
  pageSize?: number;
  timeoutMs?: number;
  now?: Date;
}

/** Reads what the chain needs for one job: targeted GETs and selected lists, never a full sync of a kind. */
export async function gather(kc: KubeConfig, target: Target, opts: GatherOptions = {}): Promise<WhySnapshot> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const errors: WhySnapshot['errors'] = [];
  const get = async (path: string): Promise<KubeObject | null> => {
    try {
      const got = await rawJson<unknown>(kc, { method: 'GET', path, timeoutMs, maxBytes: 16 * 1024 * 1024 });
      if (!isObject(got)) throw new Error(`GET ${path}: the answer is not a Kubernetes object`);
      return got;
    } catch (err) {
      if (err instanceof HttpStatusError && err.status === 404) return null;
      throw err;
    }
  };
  /** A GET or list for a link: a failure is recorded under `step` and read as "unknown", the other links go on. */
  const soft = async <T>(stepName: string, f: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await f();
    } catch (err) {
      errors.push({ step: stepName, message: err instanceof Error ? err.message : String(err) });
      return undefined;
    }
  };
  const kueue = await kueueVersions(kc, timeoutMs);
  const v = kueue.version;
  const ns = target.namespace;

  // The object named: not found or forbidden ends the question (exit 2).
  const path =
    target.kind === 'Workload'
      ? v
        ? `/apis/${KUEUE}/${v}/namespaces/${enc(ns)}/workloads/${enc(target.name)}`
        : undefined
      : pathOf(PATHS[target.kind], ns, target.name);
  if (!path) throw new WhyError(`Kueue's Workload API is not served: there is no Workload ${ns}/${target.name}`);
  let object: KubeObject | null;
  try {
    object = await get(path);
  } catch (err) {
    throw new WhyError(`cannot read ${target.kind} ${ns}/${target.name}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!object) throw new WhyError(`${target.kind} ${ns}/${target.name} not found`);

  const snap: WhySnapshot = { now: opts.now ?? new Date(), target, object, kueue, workloads: [], errors };
  const kaiwoOwner = (object.metadata as { ownerReferences?: { kind?: string; name?: string }[] }).ownerReferences?.find(
    (o) => o.kind === 'KaiwoJob' || o.kind === 'KaiwoService',
  );
  if (target.kind === 'KaiwoJob' || target.kind === 'KaiwoService') snap.kaiwo = object;
  else if (kaiwoOwner?.name)
    snap.kaiwo =
      (await soft('Kaiwo', () =>
        get(pathOf(PATHS[kaiwoOwner.kind === 'KaiwoJob' ? 'KaiwoJob' : 'KaiwoService'], ns, str(kaiwoOwner.name))),
      )) ?? undefined;
  // KaiwoConfig names the default queue; missing (404) means Kaiwo's defaults, unreadable is said (the queue may be wrong).
  const kaiwoConfig = snap.kaiwo
    ? ((await soft('KaiwoConfig', () => get('/apis/config.kaiwo.silogen.ai/v1alpha1/kaiwoconfigs/kaiwo'))) ?? null)
    : null;
  if (snap.kaiwo) {
    snap.kaiwoNeeds = KAIWO_KUEUE_VERSION;
    const spec = isRecord(snap.kaiwo.spec) ? snap.kaiwo.spec : {};
    const cfg = kaiwoConfig && isRecord(kaiwoConfig.spec) ? kaiwoConfig.spec : {};
    snap.kaiwoQueue = str(spec.clusterQueue) || str(cfg.defaultClusterQueueName) || 'kaiwo';
  }

  // What Kaiwo made (same name as the KaiwoJob/KaiwoService), or the target itself.
  if (target.kind === 'KaiwoJob')
    snap.child = await soft(
      'Job',
      async () => (await get(pathOf(PATHS.Job, ns, target.name))) ?? get(pathOf(PATHS.RayJob, ns, target.name)),
    );
  else if (target.kind === 'KaiwoService') {
    snap.child = await soft(
      'Deployment',
      async () =>
        (await get(pathOf(PATHS.Deployment, ns, target.name))) ??
        get(`/apis/workload.codeflare.dev/v1beta2/namespaces/${enc(ns)}/appwrappers/${enc(target.name)}`),
    );
  } else if (target.kind !== 'Workload') snap.child = object;
  if (snap.kaiwo && snap.child === undefined && !errors.length) snap.child = null;

  // Kueue's Workloads of it: labelled kueue.x-k8s.io/job-uid=<uid of the job, or of each pod of a Deployment>.
  if (target.kind === 'Workload') snap.workloads = [object];
  else if (v && snap.child) {
    const child = snap.child;
    const uids =
      child.kind === 'Deployment'
        ? ((await soft('Pods', () => podsOf(kc, child, timeoutMs)))?.map((p) => p.metadata.uid ?? '') ?? [])
        : [child.metadata.uid ?? ''];
    for (const uid of uids.filter(Boolean).slice(0, 20)) {
      const got = await soft('Workload', async () =>
        list(
          await rawJson(kc, {
            method: 'GET',
            timeoutMs,
            path: `/apis/${KUEUE}/${v}/namespaces/${enc(ns)}/workloads?labelSelector=${enc(`${KUEUE}/job-uid=${uid}`)}&limit=5`,
          }),
        ),
      );
      snap.workloads.push(...(got ?? []));
    }
  }
  const w = snap.workloads[0];
  const labels = snap.child?.metadata.labels ?? {};
  const queue =
    str((w?.spec as { queueName?: unknown } | undefined)?.queueName) ||
    (labels[`${KUEUE}/queue-name`] ?? '') ||
    (snap.kaiwo ? (snap.kaiwoQueue ?? '') : '');
  if (queue) snap.localQueueName = `${ns}/${queue}`;
  if (!v) return snap;

  if (queue) snap.localQueue = await soft('LocalQueue', () => get(`/apis/${KUEUE}/${v}/namespaces/${enc(ns)}/localqueues/${enc(queue)}`));
  const admission = isRecord(w?.status) && isRecord(w.status.admission) ? w.status.admission : undefined;
  snap.clusterQueueName =
    str(admission?.clusterQueue) ||
    str((snap.localQueue?.spec as { clusterQueue?: unknown } | undefined)?.clusterQueue) ||
    (snap.kaiwo && snap.localQueue === null ? snap.kaiwoQueue : undefined);
  const cqName = snap.clusterQueueName;
  if (cqName) snap.clusterQueue = await soft('ClusterQueue', () => get(`/apis/${KUEUE}/${v}/clusterqueues/${enc(cqName)}`));
  if (!w || !cqName || !snap.clusterQueue) return snap;

  const entry = pendingEntry(w);
  if (entry) {
    const strategy = str((snap.clusterQueue.spec as { queueingStrategy?: unknown } | undefined)?.queueingStrategy) || 'BestEffortFIFO';
    const listOf = (path: string) => async () => list(await rawJson(kc, { method: 'GET', path, timeoutMs }));
    // Independent reads at once: the queues, flavors, unbound pending pods and Kueue's visibility API.
    const [localQueues = [], cqs, rfs, pendingPods, visible] = await Promise.all([
      soft('LocalQueues', listOf(`/apis/${KUEUE}/${v}/localqueues`)),
      soft('Capacity', listOf(`/apis/${KUEUE}/${v}/clusterqueues`)),
      soft('Capacity', listOf(`/apis/${KUEUE}/${v}/resourceflavors`)),
      soft('Capacity', async () => {
        const page = await rawJson<unknown>(kc, {
          method: 'GET',
          timeoutMs,
          path: `/api/v1/pods?fieldSelector=${enc(PENDING_PODS_SELECTOR)}&limit=5000`,
        });
        if (isRecord(page) && isRecord(page.metadata) && page.metadata.continue) {
          errors.push({ step: 'Capacity', message: 'more than 5000 unbound pending pods: only the first 5000 were read' });
        }
        return list(page);
      }),
      visibilityPosition(kc, cqName, w, strategy, timeoutMs),
    ]);
    const [queued, nodes] = await Promise.all([
      soft('Position', () => queueWorkloads(kc, v, cqName, localQueues, opts, timeoutMs)),
      soft('Capacity', () => flavorNodes(kc, flavorsOf(snap.clusterQueue ?? w), rfs ?? [], timeoutMs)),
    ]);
    const here = { namespace: w.metadata.namespace ?? '', name: w.metadata.name };
    if (visible) snap.position = visible;
    else if (queued) snap.position = computedPosition(queued.pending, here, strategy, queued.note);
    if (cqs && rfs && pendingPods && nodes) {
      // The job is the only pending demand (the rows then answer for it); the admitted Workloads of the queue say
      // what is in use and what waits on lost GPUs.
      snap.capacity = capacityFor(
        {
          clusterQueue: cqName,
          clusterQueues: cqs,
          resourceFlavors: rfs,
          localQueues,
          nodes,
          pendingPods: pendingPods.map(slimPendingPod),
          workloads: [projected(w), ...(queued?.admitted ?? [])],
          kaiwoConfig: kaiwoConfig ? [kaiwoConfig] : [],
          version: v,
        },
        snap.now,
      );
    }
  } else if (conditionTrue(w, 'Admitted') && snap.child) {
    const child = snap.child;
    const pods = (await soft('Pods', () => podsOf(kc, child, timeoutMs, snap.kaiwo))) ?? undefined;
    const waiting = pods?.filter(
      (p) =>
        str((p.status as { phase?: unknown } | undefined)?.phase) === 'Pending' &&
        !str((p.spec as { nodeName?: unknown } | undefined)?.nodeName),
    );
    if (waiting) {
      snap.pods = [];
      for (const pod of waiting.slice(0, 5)) {
        const events =
          (await soft('Events', async () =>
            list(
              await rawJson(kc, {
                method: 'GET',
                timeoutMs,
                path: `/api/v1/namespaces/${enc(ns)}/events?fieldSelector=${enc(`involvedObject.kind=Pod,involvedObject.name=${pod.metadata.name}`)}&limit=50`,
              }),
            ),
          )) ?? [];
        snap.pods.push({ pod, events });
      }
      snap.pods.push(...waiting.slice(5).map((pod) => ({ pod, events: [] })));
    }
    const flavors = new Set<string>();
    const psa = Array.isArray(admission?.podSetAssignments) ? admission.podSetAssignments.filter(isRecord) : [];
    for (const a of psa) for (const f of Object.values(isRecord(a.flavors) ? a.flavors : {})) if (typeof f === 'string') flavors.add(f);
    const rfs = await soft('ResourceFlavors', async () =>
      Promise.all([...flavors].map((f) => get(`/apis/${KUEUE}/${v}/resourceflavors/${enc(f)}`))),
    );
    // Only with every assigned flavor read can "its nodes" be told; a flavor that is gone or unreadable says nothing.
    const found = (rfs ?? []).filter((x): x is KubeObject => x !== null);
    const nodes =
      flavors.size && rfs && found.length === flavors.size
        ? await soft('Nodes', () => flavorNodes(kc, [...flavors], found, timeoutMs))
        : undefined;
    if (nodes) {
      const resources = [...new Set([...workloadFacts(projected(w)).demand.map((d) => d.resource), 'amd.com/gpu', 'nvidia.com/gpu'])];
      snap.largestNode = largestNode(nodes, resources);
      snap.assigned = {
        flavors: [...flavors].sort(),
        nodes: nodes.length,
        lost: nodes
          .filter((n) => gpusLost(n, resources))
          .map((n) => n.metadata.name)
          .sort(),
        taints: taintsOf(nodes),
      };
    }
  }
  return snap;
}

/** The taints on `nodes` (key=value:effect), without the ones Kubernetes sets for node state or the control plane. */
function taintsOf(nodes: readonly KubeObject[]): string[] {
  const out = new Set<string>();
  for (const n of nodes) {
    const taints = isRecord(n.spec) && Array.isArray(n.spec.taints) ? n.spec.taints.filter(isRecord) : [];
    for (const t of taints) {
      const key = str(t.key);
      if (!key || key.startsWith('node.kubernetes.io/') || /^node-role\.kubernetes\.io\/(control-plane|master)$/.test(key)) continue;
      out.add(`${key}${t.value ? `=${str(t.value)}` : ''}:${str(t.effect)}`);
    }
  }
  return [...out].sort().slice(0, 10);
}

/** A node whose GPUs are (partly) gone: not Ready, or the device plugin advertises fewer than it has. */
function gpusLost(n: KubeObject, resources: readonly string[]): boolean {
  const st = isRecord(n.status) ? n.status : {};
  const cap = isRecord(st.capacity) ? st.capacity : {};
  const alloc = isRecord(st.allocatable) ? st.allocatable : {};
  const ready = conditionTrue(n, 'Ready');
  return resources.some((r) => cap[r] !== undefined && (!ready || quantity(alloc[r]) < quantity(cap[r])));
}

function conditionTrue(o: KubeObject, type: string): boolean {
  const conds = isRecord(o.status) && Array.isArray(o.status.conditions) ? o.status.conditions.filter(isRecord) : [];
  return conds.some((c) => c.type === type && c.status === 'True');
}

/** Kueue's Workload API: served versions and the storage version (the CRD), else the group's discovery. */
async function kueueVersions(kc: KubeConfig, timeoutMs: number): Promise<WhySnapshot['kueue']> {
  const records = (v: unknown): Record<string, unknown>[] => (Array.isArray(v) ? v.filter(isRecord) : []);
  try {
    // Every Kueue CRD has the same versions: read a small one (the Workload CRD is 1.4 MB).
    const crd = await rawJson<unknown>(kc, {
      method: 'GET',
      path: `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/resourceflavors.${KUEUE}`,
      timeoutMs,
    });
    const versions = records(isRecord(crd) && isRecord(crd.spec) ? crd.spec.versions : undefined);
    const served = versions
      .filter((x) => x.served !== false)
      .map((x) => str(x.name))
      .filter(Boolean);
    const storage = str(versions.find((x) => x.storage === true && x.served !== false)?.name) || served[0];
    return { served, ...(storage ? { version: storage } : {}) };
  } catch (err) {
    if (err instanceof HttpStatusError && err.status === 404) return { served: [] };
    const group = await rawJson<unknown>(kc, { method: 'GET', path: `/apis/${KUEUE}`, timeoutMs }).catch(() => undefined);
    const served = records(isRecord(group) ? group.versions : undefined)
      .map((x) => str(x.version))
      .filter(Boolean);
    const preferred = isRecord(group) && isRecord(group.preferredVersion) ? str(group.preferredVersion.version) : '';
    return { served, ...(preferred ? { version: preferred } : {}) };
  }
}

/** The pods of a job: Kaiwo's run-id label, a Job's job-name, a Deployment's selector. */
async function podsOf(kc: KubeConfig, child: KubeObject, timeoutMs: number, kaiwo?: KubeObject): Promise<KubeObject[]> {
  const ns = child.metadata.namespace ?? '';
  let selector: string;
  if (kaiwo?.metadata.uid) selector = `kaiwo.silogen.ai/run-id=${kaiwo.metadata.uid}`;
  else if (child.kind === 'Job') selector = `batch.kubernetes.io/job-name=${child.metadata.name}`;
  else {
    const match =
      isRecord(child.spec) && isRecord(child.spec.selector) && isRecord(child.spec.selector.matchLabels)
        ? child.spec.selector.matchLabels
        : {};
    selector = Object.entries(match)
      .map(([k, val]) => `${k}=${str(val)}`)
      .join(',');
  }
  if (!selector) return [];
  return list(
    await rawJson(kc, { method: 'GET', timeoutMs, path: `/api/v1/namespaces/${enc(ns)}/pods?labelSelector=${enc(selector)}&limit=500` }),
  );
}

/** The nodes of the named flavors, each flavor's nodeLabels as a label selector (a flavor without labels: every node). */
async function flavorNodes(kc: KubeConfig, flavors: string[], rfs: readonly KubeObject[], timeoutMs: number): Promise<KubeObject[]> {
  const selectors = new Set(rfs.filter((rf) => flavors.includes(rf.metadata.name)).map(flavorSelector));
  const byName = new Map<string, KubeObject>();
  for (const sel of selectors) {
    const nodes = list(await rawJson(kc, { method: 'GET', timeoutMs, path: `/api/v1/nodes${sel ? `?labelSelector=${enc(sel)}` : ''}` }));
    for (const n of nodes) byName.set(n.metadata.name, n);
  }
  return [...byName.values()];
}

/** The job's place from Kueue's visibility API (pendingworkloads), where it is served; else undefined. */
async function visibilityPosition(
  kc: KubeConfig,
  cq: string,
  w: KubeObject,
  strategy: string,
  timeoutMs: number,
): Promise<Position | undefined> {
  for (const vv of ['v1beta2', 'v1beta1']) {
    const got = await rawJson<{ items?: unknown }>(kc, {
      method: 'GET',
      timeoutMs: Math.min(timeoutMs, 5000),
      maxBytes: 64 * 1024 * 1024,
      path: `/apis/visibility.${KUEUE}/${vv}/clusterqueues/${enc(cq)}/pendingworkloads?limit=100000`,
    }).catch(() => undefined);
    if (!got || !Array.isArray(got.items)) continue;
    const items = got.items.filter(isRecord);
    const mine = items.find(
      (i) => isRecord(i.metadata) && i.metadata.name === w.metadata.name && i.metadata.namespace === w.metadata.namespace,
    );
    const index = typeof mine?.positionInClusterQueue === 'number' ? mine.positionInClusterQueue : undefined;
    return { source: 'visibility', ...(index !== undefined ? { index } : {}), pending: items.length, strategy };
  }
  return undefined;
}

/**
 * The Workloads of a ClusterQueue, read from the namespaces of its LocalQueues (paged, projected, at most
 * `maxQueueRead`): the pending ones as queue entries, the admitted ones for the capacity rows.
 */
async function queueWorkloads(
  kc: KubeConfig,
  v: string,
  cq: string,
  localQueues: readonly KubeObject[],
  opts: GatherOptions,
  timeoutMs: number,
): Promise<{ pending: QueueEntry[]; admitted: KubeObject[]; note?: string }> {
  const max = opts.maxQueueRead ?? 20_000;
  const pageSize = opts.pageSize ?? 500;
  const lqOf = new Map(
    localQueues.map((lq) => [
      `${lq.metadata.namespace ?? ''}/${lq.metadata.name}`,
      str((lq.spec as { clusterQueue?: unknown } | undefined)?.clusterQueue),
    ]),
  );
  const namespaces = [
    ...new Set(
      localQueues
        .filter((lq) => lqOf.get(`${lq.metadata.namespace ?? ''}/${lq.metadata.name}`) === cq)
        .map((lq) => lq.metadata.namespace ?? ''),
    ),
  ].sort();
  const pending: QueueEntry[] = [];
  const admitted: KubeObject[] = [];
  const progress = { read: 0, cut: false };
  /** One namespace, page by page, until it ends or the whole read passes `max`. */
  const readNamespace = async (ns: string) => {
    let cont = '';
    do {
      const page = await rawJson<{ items?: unknown; metadata?: { continue?: string } }>(kc, {
        method: 'GET',
        timeoutMs,
        path: `/apis/${KUEUE}/${v}/namespaces/${enc(ns)}/workloads?limit=${pageSize}${cont ? `&continue=${enc(cont)}` : ''}`,
      });
      for (const x of list(page)) {
        progress.read++;
        if (lqOf.get(`${ns}/${str((x.spec as { queueName?: unknown } | undefined)?.queueName)}`) !== cq) continue;
        const e = pendingEntry(x);
        if (e) pending.push(e);
        else {
          const slim = slimWorkload(x);
          if (workloadFacts(slim).reserved && !workloadFacts(slim).skip) admitted.push(slim);
        }
      }
      cont = str(page.metadata?.continue);
      if (cont && progress.read >= max) progress.cut = true;
    } while (cont && !progress.cut);
  };
  // Four namespaces at a time: the answer waits for the slowest, not the sum.
  for (let i = 0; i < namespaces.length && !progress.cut; i += 4) await Promise.all(namespaces.slice(i, i + 4).map(readNamespace));
  if (progress.cut)
    return {
      pending,
      admitted,
      note: `stopped after ${progress.read} Workloads: more than ${max} to read (serve Kueue's visibility API for an exact position)`,
    };
  return { pending, admitted };
}
