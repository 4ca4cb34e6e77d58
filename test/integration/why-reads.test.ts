import { expect } from 'chai';
import type { KubeConfig } from '@kubernetes/client-node';
import { rawJson } from '../../src/runtime/rawrequest.js';
import { queueWorkloads } from '../../src/why/reads.js';
import { sharedCluster, skipWithoutBackend, uniqueName } from '../support/cluster.js';

const MERGE = 'application/merge-patch+json';
const V = 'v1beta2';

/**
 * `why` reads a ClusterQueue's Workloads through Kueue's selectable field status.admission.clusterQueue where the CRD
 * declares it (Kueue v0.19, the shared cluster's CRDs) and through every Workload of the queue's namespaces
 * elsewhere: on the real API server both must find the same pending and admitted Workloads.
 */
describe("integration: why reads a ClusterQueue's Workloads (Kueue's selectable field, or every Workload)", function () {
  this.timeout(60_000);
  before(skipWithoutBackend);
  let kc: KubeConfig;
  const ns = uniqueName('why-reads');
  const cq = uniqueName('why-cq');
  const req = <T>(method: string, path: string, body?: unknown, contentType?: string) =>
    rawJson<T>(kc, { method, path, ...(body !== undefined ? { body } : {}), ...(contentType ? { contentType } : {}) });
  const base = `/apis/kueue.x-k8s.io/${V}`;

  before(async () => {
    kc = (await sharedCluster()).kubeConfig();
    await req('POST', '/api/v1/namespaces', { metadata: { name: ns } });
    await req('POST', `${base}/namespaces/${ns}/localqueues`, {
      apiVersion: `kueue.x-k8s.io/${V}`,
      kind: 'LocalQueue',
      metadata: { name: 'team' },
      spec: { clusterQueue: cq },
    });
    await req('POST', `${base}/namespaces/${ns}/localqueues`, {
      apiVersion: `kueue.x-k8s.io/${V}`,
      kind: 'LocalQueue',
      metadata: { name: 'other' },
      spec: { clusterQueue: 'elsewhere' },
    });
    const at = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const workload = async (name: string, queue: string, status?: object) => {
      await req('POST', `${base}/namespaces/${ns}/workloads`, {
        apiVersion: `kueue.x-k8s.io/${V}`,
        kind: 'Workload',
        metadata: { name },
        spec: {
          queueName: queue,
          podSets: [
            {
              name: 'main',
              count: 1,
              template: {
                spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'x', resources: { requests: { 'amd.com/gpu': '8' } } }] },
              },
            },
          ],
        },
      });
      if (status) await req('PATCH', `${base}/namespaces/${ns}/workloads/${name}/status`, { status }, MERGE);
    };
    const reserved = (q: string) => ({
      type: 'QuotaReserved',
      status: 'True',
      reason: 'QuotaReserved',
      message: `Quota reserved in ClusterQueue ${q}`,
      lastTransitionTime: at,
    });
    const admission = (q: string) => ({
      clusterQueue: q,
      podSetAssignments: [{ name: 'main', count: 1, flavors: { 'amd.com/gpu': 'f' }, resourceUsage: { 'amd.com/gpu': '8' } }],
    });
    await workload('pending-1', 'team');
    await workload('pending-2', 'team', {
      conditions: [{ type: 'QuotaReserved', status: 'False', reason: 'Pending', message: 'insufficient quota', lastTransitionTime: at }],
    });
    await workload('admitted-1', 'team', { conditions: [reserved(cq)], admission: admission(cq) });
    await workload('finished-1', 'team', {
      conditions: [{ type: 'Finished', status: 'True', reason: 'Succeeded', message: 'done', lastTransitionTime: at }],
    });
    await workload('other-queue', 'other');
    await workload('other-admitted', 'other', { conditions: [reserved('elsewhere')], admission: admission('elsewhere') });
  });

  after(async () => {
    await req('DELETE', `/api/v1/namespaces/${ns}`).catch(() => undefined);
  });

  it('finds the same pending and admitted Workloads either way', async () => {
    const lqs = (
      await req<{ items: { metadata: { name: string; namespace?: string }; spec?: object }[] }>(
        'GET',
        `${base}/namespaces/${ns}/localqueues`,
      )
    ).items;
    const want = { pending: true, admitted: true };
    const fast = await queueWorkloads(kc, V, cq, lqs, want, {}, 10_000);
    const full = await queueWorkloads(kc, V, cq, lqs, { ...want, noFieldSelector: true }, {}, 10_000);
    const names = (r: typeof fast) => ({
      pending: r.pending.map((e) => e.name).sort(),
      admitted: r.admitted.map((w) => w.metadata.name).sort(),
    });
    expect(fast.by).to.equal('field selector');
    expect(full.by).to.equal('namespaces');
    expect(names(fast)).to.deep.equal({ pending: ['pending-1', 'pending-2'], admitted: ['admitted-1'] });
    expect(names(full)).to.deep.equal(names(fast));
  });
});
