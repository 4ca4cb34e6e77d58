import { workloadFacts } from '../checks/capacity-workloads.js';
import { slimWorkload } from '../checks/workload-projection.js';
import { HttpStatusError } from '../runtime/http.js';
import type { KubeConfig } from '../runtime/kubeconfig.js';
import { isRecord, type KubeObject } from '../runtime/objects.js';
import { rawJson } from '../runtime/rawrequest.js';
import { flavorSelector } from './capacity.js';
import { str } from './link.js';
import { pendingEntry } from './position.js';
import type { Position, QueueEntry, WhySnapshot } from './types.js';

/** The reads `gather` makes beyond single GETs, each bounded, each tolerant of odd answers. */

export const KUEUE = 'kueue.x-k8s.io';
/** A Kubernetes object, as far as `why` relies on it: a record whose metadata has a string name. */
export const isObject = (v: unknown): v is KubeObject => isRecord(v) && isRecord(v.metadata) && typeof v.metadata.name === 'string';
/** The items of a list answer that are objects (a hostile or broken answer yields fewer, never a crash). */
export const list = (v: unknown): KubeObject[] => (isRecord(v) && Array.isArray(v.items) ? (v.items as unknown[]).filter(isObject) : []);
export const enc = encodeURIComponent;

/** Pending Workloads read at most, and the page size, when the position is computed. */
export interface QueueReadOptions {
  maxQueueRead?: number;
  pageSize?: number;
}

/** Kueue's Workload API: served versions and the storage version (the CRD), else the group's discovery. */
export async function kueueVersions(kc: KubeConfig, timeoutMs: number): Promise<WhySnapshot['kueue']> {
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
export async function podsOf(kc: KubeConfig, child: KubeObject, timeoutMs: number, kaiwo?: KubeObject): Promise<KubeObject[]> {
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
export async function flavorNodes(kc: KubeConfig, flavors: string[], rfs: readonly KubeObject[], timeoutMs: number): Promise<KubeObject[]> {
  const selectors = new Set(rfs.filter((rf) => flavors.includes(rf.metadata.name)).map(flavorSelector));
  const byName = new Map<string, KubeObject>();
  for (const sel of selectors) {
    const nodes = list(await rawJson(kc, { method: 'GET', timeoutMs, path: `/api/v1/nodes${sel ? `?labelSelector=${enc(sel)}` : ''}` }));
    for (const n of nodes) byName.set(n.metadata.name, n);
  }
  return [...byName.values()];
}

/** The job's place from Kueue's visibility API (pendingworkloads), where it is served; else undefined. */
export async function visibilityPosition(
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

/** What of a ClusterQueue's Workloads to read: the pending ones (a computed position), the admitted ones (capacity). */
export interface QueueWant {
  pending: boolean;
  admitted: boolean;
  /** Skip Kueue's selectable field (status.admission.clusterQueue) and read every Workload: for tests and the benchmark. */
  noFieldSelector?: boolean;
}

export interface QueueRead {
  pending: QueueEntry[];
  admitted: KubeObject[];
  /** How they were read: by Kueue's selectable field (only what is wanted), or every Workload of the namespaces. */
  by: 'field selector' | 'namespaces';
  note?: string;
}

/**
 * The Workloads of a ClusterQueue. Where Kueue declares status.admission.clusterQueue a selectable field (v0.19 on
 * Kubernetes >= 1.31), only what is wanted is read: the unadmitted Workloads of the queue's namespaces (the field
 * empty) and the admitted ones (the field = the queue). Elsewhere every Workload of the namespaces of the queue's
 * LocalQueues is read. Paged, projected, at most `maxQueueRead` in all (said in `note` when cut).
 */
export async function queueWorkloads(
  kc: KubeConfig,
  v: string,
  cq: string,
  localQueues: readonly KubeObject[],
  want: QueueWant,
  opts: QueueReadOptions,
  timeoutMs: number,
): Promise<QueueRead> {
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
  const out: QueueRead = { pending: [], admitted: [], by: 'field selector' };
  const progress = { read: 0, cut: false };
  const take = (x: KubeObject) => {
    const ns = x.metadata.namespace ?? '';
    const slim = slimWorkload(x);
    const f = workloadFacts(slim);
    if (f.reserved) {
      if (want.admitted && !f.skip && f.admittedTo === cq) out.admitted.push(slim);
    } else if (want.pending && lqOf.get(`${ns}/${str((x.spec as { queueName?: unknown } | undefined)?.queueName)}`) === cq) {
      const e = pendingEntry(x);
      if (e) out.pending.push(e);
    }
  };
  /** One collection, page by page, until it ends or the whole read passes `max`. */
  const readAll = async (path: string, selector?: string) => {
    let cont = '';
    do {
      const query = `limit=${pageSize}${selector !== undefined ? `&fieldSelector=${enc(selector)}` : ''}${cont ? `&continue=${enc(cont)}` : ''}`;
      const page = await rawJson<unknown>(kc, { method: 'GET', timeoutMs, path: `${path}?${query}` });
      for (const x of list(page)) {
        progress.read++;
        take(x);
      }
      cont = isRecord(page) && isRecord(page.metadata) ? str(page.metadata.continue) : '';
      if (cont && progress.read >= max) progress.cut = true;
    } while (cont && !progress.cut);
  };
  const inNamespaces = async (selector?: string) => {
    // Four namespaces at a time: the answer waits for the slowest, not the sum.
    for (let i = 0; i < namespaces.length && !progress.cut; i += 4) {
      await Promise.all(namespaces.slice(i, i + 4).map((ns) => readAll(`/apis/${KUEUE}/${v}/namespaces/${enc(ns)}/workloads`, selector)));
    }
  };
  const field = 'status.admission.clusterQueue';
  const fast = async () => {
    await Promise.all([
      want.pending ? inNamespaces(`${field}=`) : undefined,
      want.admitted ? readAll(`/apis/${KUEUE}/${v}/workloads`, `${field}=${cq}`) : undefined,
    ]);
  };
  try {
    if (want.noFieldSelector) throw new HttpStatusError(400, 'field selector not used');
    await fast();
  } catch (err) {
    // Not a selectable field here (older Kueue or Kubernetes): the API server refuses the selector with 400.
    if (!(err instanceof HttpStatusError && err.status === 400)) throw err;
    Object.assign(out, { pending: [], admitted: [], by: 'namespaces' });
    progress.read = 0;
    progress.cut = false;
    if (want.pending || want.admitted) await inNamespaces();
  }
  if (progress.cut)
    out.note = `stopped after ${progress.read} Workloads: more than ${max} to read (serve Kueue's visibility API for an exact position)`;
  return out;
}
