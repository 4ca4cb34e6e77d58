import { expect } from 'chai';
import { type Cluster, startCluster } from '../../src/localcluster/backend.js';
import { versions } from '../../src/localcluster/versions.js';
import { isoSeconds, microTime } from '../../src/api/time.js';
import { rawJson } from '../../src/runtime/rawrequest.js';
import { Monitors } from '../support/fakes/monitors.js';
import { OperatorProcess } from '../support/operator.js';
import { waitFor } from '../support/wait.js';

const MERGE = 'application/merge-patch+json';

describe(`integration: Kueue ${versions().KUEUE_LEGACY_VERSION} (v1beta1 only, what Kaiwo v0.1.x runs with)`, function () {
  this.timeout(180_000);
  let legacy: Cluster;
  let op: OperatorProcess;

  // Its own local control plane with the legacy Kueue CRDs, whatever the selected backend.
  before(async () => {
    legacy = await startCluster({ backend: 'local', kueueVersion: versions().KUEUE_LEGACY_VERSION });
    const kc = legacy.kubeConfig();
    const req = <T>(method: string, path: string, body?: unknown, contentType?: string) =>
      rawJson<T>(kc, { method, path, ...(body ? { body } : {}), ...(contentType ? { contentType } : {}) });
    await req('POST', '/api/v1/namespaces', { metadata: { name: 'kueue-system' } });
    await req('POST', '/apis/apps/v1/namespaces/kueue-system/deployments', {
      metadata: { name: 'kueue-controller-manager' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { 'control-plane': 'controller-manager' } },
        template: {
          metadata: { labels: { 'control-plane': 'controller-manager' } },
          spec: { containers: [{ name: 'manager', image: 'example.invalid/kueue:v0.12.3' }] },
        },
      },
    });
    await req(
      'PATCH',
      '/apis/apps/v1/namespaces/kueue-system/deployments/kueue-controller-manager/status',
      { status: { replicas: 1, availableReplicas: 1, readyReplicas: 1 } },
      MERGE,
    );
    await req('POST', '/apis/coordination.k8s.io/v1/namespaces/kueue-system/leases', {
      metadata: { name: 'c1f6bfd2.kueue.x-k8s.io' },
      spec: { holderIdentity: 'kueue-0', leaseDurationSeconds: 3600, renewTime: microTime(new Date()) },
    });
    await req('POST', '/apis/kueue.x-k8s.io/v1beta1/clusterqueues', {
      apiVersion: 'kueue.x-k8s.io/v1beta1',
      kind: 'ClusterQueue',
      metadata: { name: 'kaiwo' },
      spec: { cohort: 'kaiwo', namespaceSelector: {} },
    });
    await req(
      'PATCH',
      '/apis/kueue.x-k8s.io/v1beta1/clusterqueues/kaiwo/status',
      {
        status: {
          conditions: [
            {
              type: 'Active',
              status: 'True',
              reason: 'Ready',
              message: 'Can admit new workloads',
              lastTransitionTime: isoSeconds(new Date()),
            },
          ],
        },
      },
      MERGE,
    );
    await new Monitors(kc).create('legacy', { operator: { enabled: false }, gpuNodes: { enabled: false }, workloads: { enabled: false } });
    op = await OperatorProcess.start(legacy.kubeconfigPath);
  });

  after(async () => {
    await op.stop();
    await legacy.stop();
  });

  it('reads ClusterQueues through v1beta1 (the version this Kueue stores) and detects an inactive one', async () => {
    const monitors = new Monitors(legacy.kubeConfig());
    const kueue = async () => (await monitors.get('legacy')).status?.conditions?.find((c) => c.type === 'KueueHealthy');
    const healthy = await waitFor('KueueHealthy=True', async () => ((await kueue())?.status === 'True' ? kueue() : undefined), 60_000);
    expect(healthy.message).to.include('1/1 ClusterQueues active');
    await rawJson(legacy.kubeConfig(), {
      method: 'PATCH',
      path: '/apis/kueue.x-k8s.io/v1beta1/clusterqueues/kaiwo/status',
      contentType: MERGE,
      body: {
        status: {
          conditions: [
            {
              type: 'Active',
              status: 'False',
              reason: 'FlavorNotFound',
              message: "Can't admit new workloads: references missing ResourceFlavor(s): amd-mi300x.",
              lastTransitionTime: isoSeconds(new Date()),
            },
          ],
        },
      },
    });
    const broken = await waitFor(
      'KueueHealthy=False',
      async () => ((await kueue())?.status === 'False' ? monitors.get('legacy') : undefined),
      30_000,
    );
    expect(broken.status?.conditions?.find((c) => c.type === 'KueueHealthy')?.reason).to.equal('ClusterQueueInactive');
    expect(broken.status?.findings?.[0]?.object).to.deep.include({
      apiVersion: 'kueue.x-k8s.io/v1beta1',
      kind: 'ClusterQueue',
      name: 'kaiwo',
    });
  });
});
