import { workloadFacts } from '../checks/capacity-workloads.js';
import { PENDING_PODS_SELECTOR, slimPendingPod } from '../checks/pending-pods.js';
import { conditionOf } from '../checks/util.js';
import { HttpStatusError } from '../runtime/http.js';
import type { KubeConfig } from '../runtime/kubeconfig.js';
import { isRecord, type KubeObject } from '../runtime/objects.js';
import { VersionDiscovery } from '../runtime/discovery.js';
import { rawJson } from '../runtime/rawrequest.js';
import { capacityFor, flavorsOf, gpusLost, largestNode, maybeLost, taintsOf } from './capacity.js';
import { str } from './link.js';
import { computedPosition, pendingEntry, projected } from './position.js';
import {
  enc,
  flavorNodes,
  isObject,
  KUEUE,
  kueueVersions,
  list,
  podsOf,
  type QueueReadOptions,
  queueWorkloads,
  visibilityPosition,
} from './reads.js';
import type { Target, TargetKind, WhySnapshot } from './types.js';

const KAIWO = 'kaiwo.silogen.ai/v1alpha1';
/** The Kueue API version Kaiwo's client speaks (v0.1.x and v0.2 build on Kueue's v1beta1 Go types). */
export const KAIWO_KUEUE_VERSION = 'v1beta1';

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

export interface GatherOptions extends QueueReadOptions {
  /** Read every Workload of the queue's namespaces even where Kueue's selectable field would select (tests, benchmark). */
  noFieldSelector?: boolean;
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
  /** The GPU resources the job asks for, and both vendors' (what a node's loss is judged by). */
  const resources = [
    ...new Set([...(w ? workloadFacts(projected(w)).demand.map((d) => d.resource) : []), 'amd.com/gpu', 'nvidia.com/gpu']),
  ];
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
    const [localQueues = [], cqs, rfs, pendingPods, visible, cohorts] = await Promise.all([
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
      // Kueue's Cohort objects (their own quota, their parents), at the version served: v1alpha1 up to Kueue v0.12.
      soft('Capacity', async () => {
        const cv = await new VersionDiscovery(kc).version(KUEUE, `cohorts.${KUEUE}`);
        // Not served (no CRD, or the group's preferred version when the CRD may not be read): implicit cohorts only.
        return cv
          ? listOf(`/apis/${KUEUE}/${cv}/cohorts`)().catch((err: unknown) => {
              if (err instanceof HttpStatusError && err.status === 404) return [];
              throw err;
            })
          : [];
      }),
    ]);
    const nodes = await soft('Capacity', () => flavorNodes(kc, flavorsOf(snap.clusterQueue ?? w), rfs ?? [], timeoutMs));
    // The admitted Workloads matter only where GPUs are lost (work stuck on them); the pending ones only without
    // Kueue's visibility API.
    const degraded = nodes?.some((n) => maybeLost(n, resources)) ?? false;
    const want = { pending: !visible, admitted: degraded, ...(opts.noFieldSelector ? { noFieldSelector: true } : {}) };
    const queued = await soft('Position', () => queueWorkloads(kc, v, cqName, localQueues, want, opts, timeoutMs));
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
          ...(cohorts ? { cohorts } : {}),
          version: v,
        },
        snap.now,
      );
    }
  } else if (conditionOf(w, 'Admitted')?.status === 'True' && snap.child) {
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
      snap.largestNode = largestNode(nodes, resources);
      snap.assigned = {
        flavors: [...flavors].sort(),
        nodes: nodes.length,
        lost: nodes
          .filter((n) => gpusLost(n, resources))
          .map((n) => n.metadata.name)
          .sort(),
        taints: taintsOf(nodes, resources),
      };
    }
  }
  return snap;
}
