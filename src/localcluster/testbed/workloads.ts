import type { KubeConfig } from '@kubernetes/client-node';
import { HttpStatusError } from '../../runtime/http.js';
import { rawJson } from '../../runtime/rawrequest.js';

/**
 * Workloads as users submit them on the test bed (e2e tests and `make demo`): a batch Job in a Kueue LocalQueue,
 * a KaiwoJob for the Kaiwo operator, and where they stand (Kueue's Workload, the pod and its node).
 */

/** kwok's pod-complete stage: a pod runs between `delay` and `jitter-delay` before it completes. */
export const kwokRunFor = (duration: string): Record<string, string> => ({
  'pod-complete.stage.kwok.x-k8s.io/delay': duration,
  'pod-complete.stage.kwok.x-k8s.io/jitter-delay': duration,
});

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}
export interface QueuedWorkload {
  metadata: { name: string; labels?: Record<string, string> };
  status?: { conditions?: Condition[]; admission?: { clusterQueue?: string } };
}

export interface JobOptions {
  /** LocalQueue (label kueue.x-k8s.io/queue-name); default `kaiwo`. */
  queue?: string;
  resource: 'amd.com/gpu' | 'nvidia.com/gpu';
  gpus: number;
  /** How long kwok keeps the pod running before it completes (e.g. '20s', '1h'). */
  runFor: string;
  /** Requests besides the GPUs (default 8 CPUs and 64Gi; a ClusterQueue must cover every requested resource). */
  requests?: Record<string, string>;
}

/** A suspended batch Job labelled for a LocalQueue, as a user submits it to Kueue (Kueue unsuspends it on admission). */
export async function submitJob(kc: KubeConfig, namespace: string, name: string, o: JobOptions): Promise<void> {
  await rawJson(kc, {
    method: 'POST',
    path: `/apis/batch/v1/namespaces/${namespace}/jobs`,
    body: {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name, namespace, labels: { 'kueue.x-k8s.io/queue-name': o.queue ?? 'kaiwo' } },
      spec: {
        suspend: true,
        backoffLimit: 0,
        template: {
          metadata: { annotations: kwokRunFor(o.runFor) },
          spec: {
            restartPolicy: 'Never',
            containers: [
              {
                name: 'train',
                image: 'rocm/pytorch:latest',
                resources: {
                  requests: { ...(o.requests ?? { cpu: '8', memory: '64Gi' }), [o.resource]: String(o.gpus) },
                  limits: { [o.resource]: String(o.gpus) },
                },
              },
            ],
          },
        },
      },
    },
  });
}

/** Deletes a batch Job and, in the background, its pods; a Job already gone is fine. */
export async function deleteJob(kc: KubeConfig, namespace: string, name: string): Promise<void> {
  await rawJson(kc, { method: 'DELETE', path: `/apis/batch/v1/namespaces/${namespace}/jobs/${name}?propagationPolicy=Background` }).catch(
    (e: unknown) => {
      if (!(e instanceof HttpStatusError) || e.status !== 404) throw e;
    },
  );
}

/** The path of a Kueue collection in `apiVersion` (v1beta1 or v1beta2), cluster-wide or in a namespace. */
export const kueuePath = (apiVersion: string, plural: string, ns?: string): string =>
  `/apis/kueue.x-k8s.io/${apiVersion}${ns ? `/namespaces/${ns}` : ''}/${plural}`;

/**
 * A KaiwoJob as a user writes it: `gpus` in total (Kaiwo splits them over replicas of at most the smallest pool's
 * GPUs per node), or `replicas` × `gpusPerReplica` as given. Kaiwo turns it into a suspended batch Job in its queue
 * and copies the KaiwoJob's
 * annotations to the pods, so kwok's stage annotations say how long the pod runs (`runFor`).
 */
export async function submitKaiwoJob(
  kc: KubeConfig,
  namespace: string,
  name: string,
  o: { gpus: number; gpuVendor: 'amd' | 'nvidia'; runFor: string; replicas?: number; gpusPerReplica?: number; clusterQueue?: string },
): Promise<void> {
  await rawJson(kc, {
    method: 'POST',
    path: `/apis/kaiwo.silogen.ai/v1alpha1/namespaces/${namespace}/kaiwojobs`,
    body: {
      apiVersion: 'kaiwo.silogen.ai/v1alpha1',
      kind: 'KaiwoJob',
      metadata: { name, namespace, annotations: kwokRunFor(o.runFor) },
      spec: {
        gpus: o.gpus,
        gpuVendor: o.gpuVendor,
        image: 'rocm/pytorch:latest',
        entrypoint: 'python train.py',
        ...(o.replicas ? { replicas: o.replicas } : {}),
        ...(o.gpusPerReplica ? { gpusPerReplica: o.gpusPerReplica } : {}),
        ...(o.clusterQueue ? { clusterQueue: o.clusterQueue } : {}),
      },
    },
  });
}

/** Kueue's Workload for the Job (Kueue names it job-<name>-<hash>), or undefined before Kueue created it. */
export async function workloadOf(
  kc: KubeConfig,
  kueueApiVersion: string,
  namespace: string,
  job: string,
): Promise<QueuedWorkload | undefined> {
  const wls = await rawJson<{ items: QueuedWorkload[] }>(kc, {
    method: 'GET',
    path: `/apis/kueue.x-k8s.io/${kueueApiVersion}/namespaces/${namespace}/workloads`,
  });
  return wls.items.find((w) => w.metadata.name.startsWith(`job-${job}-`));
}

/** True once Kueue reserved quota for the Job's Workload (it then unsuspends the Job). */
export async function quotaReserved(kc: KubeConfig, kueueApiVersion: string, namespace: string, job: string): Promise<boolean> {
  const w = await workloadOf(kc, kueueApiVersion, namespace, job);
  return w?.status?.conditions?.some((c) => c.type === 'QuotaReserved' && c.status === 'True') === true;
}

export interface JobPod {
  name: string;
  node?: string;
  phase?: string;
}

/** The (first) pod of a batch Job, with the node it is bound to and its phase. */
export async function jobPod(kc: KubeConfig, namespace: string, job: string): Promise<JobPod | undefined> {
  const pods = await rawJson<{ items: { metadata: { name: string }; spec: { nodeName?: string }; status?: { phase?: string } }[] }>(kc, {
    method: 'GET',
    path: `/api/v1/namespaces/${namespace}/pods?labelSelector=${encodeURIComponent(`job-name=${job}`)}`,
  });
  const p = pods.items[0];
  return p
    ? {
        name: p.metadata.name,
        ...(p.spec.nodeName ? { node: p.spec.nodeName } : {}),
        ...(p.status?.phase ? { phase: p.status.phase } : {}),
      }
    : undefined;
}
