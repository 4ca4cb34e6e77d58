import { expect } from 'chai';
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  Watch,
} from '@kubernetes/client-node';
import type { Cluster } from '../../src/localcluster/backend.js';
import { sharedCluster, skipWithoutBackend, uniqueName } from '../support/cluster.js';

const kueue = { group: 'kueue.x-k8s.io', version: 'v1beta2', plural: 'clusterqueues' };
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

interface ClusterQueue {
  metadata: { name: string; resourceVersion?: string };
  spec: { namespaceSelector?: object; queueingStrategy?: string; resourceGroups?: unknown[] };
}

function clusterQueue(name: string, strategy = 'BestEffortFIFO'): ClusterQueue {
  return {
    metadata: { name },
    spec: {
      namespaceSelector: {},
      queueingStrategy: strategy,
      resourceGroups: [
        {
          coveredResources: ['cpu', 'amd.com/gpu'],
          flavors: [
            {
              name: 'default-flavor',
              resources: [
                { name: 'cpu', nominalQuota: '8' },
                { name: 'amd.com/gpu', nominalQuota: 8 },
              ],
            },
          ],
        },
      ],
    },
  };
}

describe('integration: the test cluster is a real Kubernetes API server', function () {
  this.timeout(180_000); // the first run may build the control-plane binaries
  before(skipWithoutBackend);
  let cluster: Cluster;
  let kc: KubeConfig;
  let custom: CustomObjectsApi;

  before(async () => {
    cluster = await sharedCluster();
    kc = cluster.kubeConfig();
    custom = kc.makeApiClient(CustomObjectsApi);
  });

  it('creates a Namespace and reads it back', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    const name = uniqueName('smoke');
    await core.createNamespace({ body: { metadata: { name, labels: { purpose: 'smoke' } } } });
    const got = await core.readNamespace({ name });
    expect(got.metadata?.labels?.purpose).to.equal('smoke');
    expect(got.metadata?.uid).to.be.a('string').and.not.empty;
  });

  it('creates a Kueue ClusterQueue (v1beta2) and reads it back', async () => {
    const name = uniqueName('cq');
    await custom.createClusterCustomObject({
      ...kueue,
      body: { apiVersion: 'kueue.x-k8s.io/v1beta2', kind: 'ClusterQueue', ...clusterQueue(name) },
    });
    const got = (await custom.getClusterCustomObject({ ...kueue, name })) as ClusterQueue;
    expect(got.spec.queueingStrategy).to.equal('BestEffortFIFO');
    expect(got.spec.resourceGroups).to.have.length(1);
  });

  it('delivers an update through a watch', async () => {
    const name = uniqueName('cq');
    const created = (await custom.createClusterCustomObject({
      ...kueue,
      body: { apiVersion: 'kueue.x-k8s.io/v1beta2', kind: 'ClusterQueue', ...clusterQueue(name) },
    })) as ClusterQueue;
    const seen = new Promise<ClusterQueue>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error('no MODIFIED event within 10s'));
      }, 10_000);
      void new Watch(kc)
        .watch(
          `/apis/kueue.x-k8s.io/v1beta2/clusterqueues`,
          { fieldSelector: `metadata.name=${name}`, resourceVersion: created.metadata.resourceVersion },
          (phase, obj: ClusterQueue) => {
            if (phase === 'MODIFIED' && obj.spec.queueingStrategy === 'StrictFIFO') {
              clearTimeout(timer);
              resolve(obj);
            }
          },
          (err: unknown) => {
            if (err) reject(err instanceof Error ? err : new Error(JSON.stringify(err)));
          },
        )
        .then((ctl) =>
          seen.finally(() => {
            ctl.abort();
          }),
        );
    });
    await custom.patchClusterCustomObject({ ...kueue, name, body: { spec: { queueingStrategy: 'StrictFIFO' } } }, mergePatch);
    const updated = await seen;
    expect(updated.metadata.name).to.equal(name);
  });

  it('rejects an invalid ClusterQueue with 422 naming the field', async () => {
    const body = { apiVersion: 'kueue.x-k8s.io/v1beta2', kind: 'ClusterQueue', ...clusterQueue(uniqueName('bad'), 'Bogus') };
    let err: unknown;
    try {
      await custom.createClusterCustomObject({ ...kueue, body });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(ApiException);
    const apiErr = err as ApiException<string>;
    expect(apiErr.code).to.equal(422);
    expect(apiErr.body).to.include('spec.queueingStrategy');
    expect(apiErr.body).to.include('Bogus');
  });

  it('round-trips a Kaiwo KaiwoJob, including its status subresource', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    const namespace = uniqueName('kaiwo');
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    const kj = { group: 'kaiwo.silogen.ai', version: 'v1alpha1', plural: 'kaiwojobs', namespace };
    const name = 'train-llama';
    await custom.createNamespacedCustomObject({
      ...kj,
      body: {
        apiVersion: 'kaiwo.silogen.ai/v1alpha1',
        kind: 'KaiwoJob',
        metadata: { name },
        spec: { gpus: 8, gpuVendor: 'amd', image: 'rocm/pytorch' },
      },
    });
    await custom.patchNamespacedCustomObjectStatus({ ...kj, name, body: { status: { status: 'FAILED' } } }, mergePatch);
    const got = (await custom.getNamespacedCustomObject({ ...kj, name })) as { spec: { gpus: number }; status: { status: string } };
    expect(got.spec.gpus).to.equal(8);
    expect(got.status.status).to.equal('FAILED');
  });
});
